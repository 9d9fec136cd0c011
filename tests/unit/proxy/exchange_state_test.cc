// The exchange's transition table (proxy/exchange.h kAllowedNext): every
// state can end, nothing leaves kComplete, and an answer under way never
// goes back to looking up or forwarding.
#include <doctest/doctest.h>

#include "proxy/exchange.h"

using namespace larder::proxy;

namespace {

bool allowed(ExchangeState from, ExchangeState to) {
  return (kAllowedNext[static_cast<size_t>(from)] & stateBit(to)) != 0;
}

constexpr ExchangeState kAll[] = {
    ExchangeState::kReceived,     ExchangeState::kLookingUp,   ExchangeState::kWaitingForFill,
    ExchangeState::kBufferingBody, ExchangeState::kForwarding, ExchangeState::kInvalidating,
    ExchangeState::kStreamingResponse, ExchangeState::kComplete,
};

}  // namespace

TEST_CASE("every state but kComplete may complete; kComplete is final") {
  for (ExchangeState state : kAll) {
    CAPTURE(toString(state));
    if (state == ExchangeState::kComplete) {
      CHECK(kAllowedNext[static_cast<size_t>(state)] == 0);
    } else {
      CHECK(allowed(state, ExchangeState::kComplete));
    }
  }
}

TEST_CASE("transitions, allowed and refused") {
  struct Row {
    ExchangeState from, to;
    bool allowed;
  };
  const Row rows[] = {
      {ExchangeState::kReceived, ExchangeState::kLookingUp, true},
      {ExchangeState::kReceived, ExchangeState::kStreamingResponse, false},
      {ExchangeState::kLookingUp, ExchangeState::kLookingUp, true},  // a Vary learned meanwhile
      {ExchangeState::kLookingUp, ExchangeState::kWaitingForFill, true},
      {ExchangeState::kLookingUp, ExchangeState::kStreamingResponse, true},  // a large coded hit, decoded as sent
      {ExchangeState::kWaitingForFill, ExchangeState::kStreamingResponse, true},
      {ExchangeState::kWaitingForFill, ExchangeState::kLookingUp, true},  // the fill was abandoned
      {ExchangeState::kBufferingBody, ExchangeState::kLookingUp, false},
      {ExchangeState::kForwarding, ExchangeState::kInvalidating, true},
      {ExchangeState::kForwarding, ExchangeState::kWaitingForFill, false},
      {ExchangeState::kInvalidating, ExchangeState::kStreamingResponse, true},
      {ExchangeState::kStreamingResponse, ExchangeState::kForwarding, false},
      {ExchangeState::kStreamingResponse, ExchangeState::kLookingUp, false},
      {ExchangeState::kComplete, ExchangeState::kStreamingResponse, false},
  };
  for (const Row& row : rows) {
    CAPTURE(toString(row.from));
    CAPTURE(toString(row.to));
    CHECK(allowed(row.from, row.to) == row.allowed);
  }
}
