// Package top turns a stream of connection snapshots into the rows of
// "mptcp-bpf-pm top": one row per subflow with its send rate and a short
// rate history, sorted and filtered. The rows are drawn as a live terminal
// view (tview), or as periodic aligned text when the output is not a
// terminal.
package top
