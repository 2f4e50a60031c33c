// Package readme holds the tests that keep README.md true: every command
// block in it runs (against the simulator, a throwaway PostgreSQL or in
// .ci/run), its signature-checking snippets verify real signatures, and
// its settings table is the one the configuration defines.
package readme
