package bpf

// The generated loaders and objects are committed, so go build needs no
// clang. Run "make generate" (go generate ./bpf/...) after editing the C
// sources; it needs clang, llvm-strip and libbpf headers.

//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror" -target bpfel -type record subflow subflow.c -- -I./headers
//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror" -target bpfel subflowraw subflow_raw.c -- -I./headers
