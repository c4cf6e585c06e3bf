package shape

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
)

// validName matches namespace and interface names this package accepts.
// Linux interface names have at most 15 bytes; the character set is
// narrower than the kernel's so that names are safe inside nft scripts.
var validName = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// checkTarget validates the namespace and interface names.
func checkTarget(ns, ifname string) error {
	if ns == "" {
		return fmt.Errorf("namespace name is empty: shaping runs only " +
			"inside a named network namespace")
	}
	if !validName.MatchString(ns) {
		return fmt.Errorf("invalid namespace name %q: use letters, "+
			"digits, '_', '.' and '-'", ns)
	}
	if len(ifname) > 15 || !validName.MatchString(ifname) {
		return fmt.Errorf("invalid interface name %q: use at most 15 "+
			"letters, digits, '_', '.' and '-'", ifname)
	}
	return nil
}

// checkLink returns an error unless ifname exists in namespace ns. nft
// accepts a netdev chain for a device that does not exist (Linux 6.18),
// and its rules would then do nothing until such a device appears.
func checkLink(ns, ifname string) error {
	_, err := run(ns, "", "ip", "link", "show", "dev", ifname)
	if err != nil {
		return fmt.Errorf("interface %s in netns %s: %w", ifname, ns, err)
	}
	return nil
}

// run runs a command inside namespace ns with stdin as its standard
// input. The error contains the command line and its standard error.
func run(ns, stdin, name string, args ...string) (string, error) {
	argv := append([]string{"netns", "exec", ns, name}, args...)
	cmd := exec.Command("ip", argv...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), &cmdError{
			cmd:    name + " " + strings.Join(args, " "),
			ns:     ns,
			stderr: strings.TrimSpace(stderr.String()),
			err:    err,
		}
	}
	return string(out), nil
}

// cmdError is a failed tc or nft command.
type cmdError struct {
	cmd, ns, stderr string
	err             error
}

func (e *cmdError) Error() string {
	return fmt.Sprintf("in netns %s: %s: %v: %s", e.ns, e.cmd, e.err,
		e.stderr)
}

func (e *cmdError) Unwrap() error { return e.err }

// stderrContains reports whether err is a cmdError whose standard error
// contains s.
func stderrContains(err error, s string) bool {
	var ce *cmdError
	return errors.As(err, &ce) && strings.Contains(ce.stderr, s)
}
