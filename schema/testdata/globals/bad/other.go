package bad

func l() {
	table = nil
	clear(cache)
}
