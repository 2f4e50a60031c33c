package postgres_test

import (
	"testing"

	"github.com/wearlink/wearlink/internal/store/storetest"
)

func TestDeliveryConformance(t *testing.T) {
	testURL(t)
	storetest.RunDelivery(t, func(t *testing.T) storetest.Store { return newStore(t) })
}
