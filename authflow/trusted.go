package authflow

// TrustedLevels returns the levels a trusted browser may stand in for,
// given the levels of the second factor that earned the trust: those of
// them up to the level just above the first, never higher. A trusted
// browser spares the second factor of aal2 and never counts toward aal3
// (SPEC §5): what it proves is a cookie, not the key that was used.
func TrustedLevels(p Policy, levels []string) []string {
	if len(p.Levels) < 2 {
		return nil
	}
	var out []string
	for i := 1; i <= min(1, p.highest(levels)); i++ {
		out = append(out, p.Levels[i].Name)
	}
	return out
}
