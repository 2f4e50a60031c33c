package sim

import (
	"testing"

	"github.com/wearlink/wearlink/internal/testutil/loopback"
)

func TestMain(m *testing.M) { loopback.Main(m) }
