package main

import "fmt"

// plural returns n with the noun in the form that reads right: "1 lead", "0 leads",
// "3 leads". It takes any integer kind, as the store counts in int64 and the CLI in int.
func plural[N ~int | ~int64](n N, one, many string) string {
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

// removedCounts names what went with an erased or deleted lead, "1 provenance row, 0 website
// queries, 2 consents"; sep joins the last two, so a sentence can read "… and 2 consents".
func removedCounts(observations, websiteQueries, consents int64, sep string) string {
	return plural(observations, "provenance row", "provenance rows") + ", " +
		plural(websiteQueries, "website query", "website queries") + sep +
		plural(consents, "consent", "consents")
}
