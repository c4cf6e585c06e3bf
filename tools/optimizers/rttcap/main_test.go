package main

import (
	"slices"
	"testing"
)

func TestCaps(t *testing.T) {
	subs := []subflow{{SRTT: 400}, {SRTT: 2000}, {SRTT: 0}, {SRTT: 700}}
	got := caps(subs, 2, 10)
	if want := []uint32{0, 10, 0, 0}; !slices.Equal(got, want) {
		t.Errorf("caps = %v, want %v", got, want)
	}
}

func TestCapsEmpty(t *testing.T) {
	if got := caps(nil, 2, 10); len(got) != 0 {
		t.Errorf("caps(nil) = %v, want []", got)
	}
}
