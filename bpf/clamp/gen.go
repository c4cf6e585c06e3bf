package clamp

// The generated loader and object are committed, so go build needs no
// clang. Run go generate ./bpf/clamp after editing clamp.c; it needs
// clang, llvm-strip and the libbpf headers.

//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror" -target bpfel -type clamp_state clamp clamp.c -- -I../headers
