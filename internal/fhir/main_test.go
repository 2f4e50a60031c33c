package fhir_test

import (
	"testing"

	"github.com/wearlink/wearlink/internal/testutil/loopback"
)

// The inputs come from the simulators on loopback; nothing else may be
// reached.
func TestMain(m *testing.M) { loopback.Main(m) }
