package bpf

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
)

// AddToken adds an MPTCP token to the set reported when
// Options.TokenFilter is on; without it the set has no effect. Subflows
// of that connection are reported from their next event on. The set
// holds 4,096 tokens; adding more fails with E2BIG.
func (t *Tracer) AddToken(token uint32) error {
	t.tokenMu.Lock()
	defer t.tokenMu.Unlock()

	if err := t.coll.Maps["tokens"].Put(token, uint8(1)); err != nil {
		return fmt.Errorf("add token %#x to the BPF filter: %w", token, err)
	}
	return t.bumpTokenGen()
}

// RemoveToken removes an MPTCP token from the filter set. Removing an
// absent token is not an error.
func (t *Tracer) RemoveToken(token uint32) error {
	t.tokenMu.Lock()
	defer t.tokenMu.Unlock()

	err := t.coll.Maps["tokens"].Delete(token)
	if err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("remove token %#x from the BPF filter: %w", token, err)
	}
	return t.bumpTokenGen()
}

func (t *Tracer) addTokens(tokens []uint32) error {
	for _, tok := range tokens {
		if err := t.AddToken(tok); err != nil {
			return err
		}
	}
	return nil
}

// bumpTokenGen makes every socket look its token up again.
func (t *Tracer) bumpTokenGen() error {
	t.tokenGen++
	if err := t.coll.Variables["token_gen"].Set(t.tokenGen); err != nil {
		return fmt.Errorf("update BPF token filter generation: %w", err)
	}
	return nil
}
