package main

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
)

func describeMachine() Machine {
	m := Machine{
		CPUs:       runtime.NumCPU(),
		Go:         runtime.Version(),
		LoadBefore: loadAvg(),
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	m.CPUModel, m.Virtual = cpuInfo()
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		f := strings.Fields(string(b))
		if len(f) > 1 {
			kib, _ := strconv.Atoi(f[1])
			m.MemoryMiB = kib / 1024
		}
	}
	if out, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", "mptcpd").Output(); err == nil {
		m.Mptcpd = strings.TrimSpace(string(out))
	}
	return m
}

// cpuInfo returns the CPU model and whether the CPU reports a
// hypervisor, with the DMI product name when there is one.
func cpuInfo() (model, virt string) {
	b, _ := os.ReadFile("/proc/cpuinfo")
	virt = "none detected"
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "model name":
			model = strings.TrimSpace(v)
		case "flags":
			if strings.Contains(v, " hypervisor") {
				virt = "virtual machine (CPU hypervisor flag)"
			}
		}
	}
	if p, err := os.ReadFile("/sys/class/dmi/id/product_name"); err == nil {
		virt += ", DMI product " + strings.TrimSpace(string(p))
	}
	return model, virt
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
