// Package shape degrades one path of the netns lab: it limits the rate,
// drops a share of packets, cuts the path off or (where the kernel allows)
// adds delay, on one interface inside one network namespace.
//
// Every function takes the namespace name (as listed by "ip netns list")
// and the interface name, and runs tc or nft inside that namespace
// through "ip netns exec". Nothing is installed outside the namespace, so
// deleting the namespace removes all shaping with it. Each setter has a
// matching function that undoes it: [Rate] and [ClearRate], [Loss] and
// [ClearLoss], [Blackhole] and [Restore], [Delay] and [ClearDelay]. Clear
// functions return nil when there is nothing to clear.
//
// Rate, Loss and Delay act on packets that leave the interface, as a
// qdisc would. To shape both directions of a path, call them on both of
// its ends. Blackhole drops in both directions.
//
// Kernels without the netem qdisc cannot delay packets: [Delay] then
// returns an error that matches [errors.ErrUnsupported]. [Capabilities]
// probes, in a scratch namespace, which of the functions work on the
// running kernel.
//
// All functions need CAP_NET_ADMIN (run as root) and the tc and nft
// commands (iproute2 and nftables).
package shape
