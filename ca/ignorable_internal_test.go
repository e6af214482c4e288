package ca

import (
	"testing"
	"unicode"
)

// TestDefaultIgnorable checks the derivation against the ranges that
// Unicode 15's DerivedCoreProperties.txt lists for
// Default_Ignorable_Code_Point (4174 code points in all).
func TestDefaultIgnorable(t *testing.T) {
	want := [][2]rune{
		{0x00AD, 0x00AD}, {0x034F, 0x034F}, {0x061C, 0x061C}, {0x115F, 0x1160},
		{0x17B4, 0x17B5}, {0x180B, 0x180F}, {0x200B, 0x200F}, {0x202A, 0x202E},
		{0x2060, 0x206F}, {0x3164, 0x3164}, {0xFE00, 0xFE0F}, {0xFEFF, 0xFEFF},
		{0xFFA0, 0xFFA0}, {0xFFF0, 0xFFF8}, {0x1BCA0, 0x1BCA3}, {0x1D173, 0x1D17A},
		{0xE0000, 0xE0FFF},
	}
	in := func(c rune) bool {
		for _, r := range want {
			if c >= r[0] && c <= r[1] {
				return true
			}
		}
		return false
	}
	n := 0
	for c := rune(0); c <= unicode.MaxRune; c++ {
		if got := defaultIgnorable(c); got != in(c) {
			t.Errorf("defaultIgnorable(%U) = %v, want %v", c, got, !got)
		}
		if in(c) {
			n++
		}
	}
	if n != 4174 {
		t.Errorf("the ranges hold %d code points, DerivedCoreProperties.txt says 4174", n)
	}
}
