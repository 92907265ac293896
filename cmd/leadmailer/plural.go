package main

import "fmt"

// plural returns n with the noun in the form that reads right: "1 lead", "0 leads",
// "3 leads".
func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// wasWere is the verb for n things.
func wasWere(n int) string {
	if n == 1 {
		return "was"
	}
	return "were"
}
