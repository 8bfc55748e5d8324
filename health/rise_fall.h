#pragma once
// The rise/fall state of one checked server, as HAProxy counts it: a health counter from 0
// to rise+fall-1; the server is up while the counter is at least `rise`. A server starts up
// with the counter at `rise`, so the first failed check takes it down; once up for real
// (counter at its top) it takes `fall` failures in a row to go down, and once down `rise`
// successes in a row to come back.

#include <cstdint>

#include "health/table.h"

namespace sluice::health {

class rise_fall {
 public:
  rise_fall(uint32_t rise, uint32_t fall, uint32_t health)
      : rise_(rise), fall_(fall), health_(health > top() ? top() : health) {}

  static uint32_t initial(uint32_t rise) { return rise; }

  // Feeds one check result; returns true when the server changed between up and down.
  bool record(bool success) {
    last_ok_ = success;
    bool was_up = up();
    if (success) {
      if (health_ < top()) ++health_;
      if (!was_up && up()) health_ = top();
    } else {
      if (health_ > 0) --health_;
      if (was_up && !up()) health_ = 0;
    }
    return was_up != up();
  }

  // Passive checks. sudden-death: one more failure takes an up server down. mark-down:
  // down now. Both return true when the server changed between up and down.
  bool pre_fatal() {
    if (up() && health_ > rise_) health_ = rise_;
    return false;
  }
  bool force_down() {
    bool was_up = up();
    health_ = 0;
    last_ok_ = false;
    return was_up;
  }

  bool up() const { return health_ >= rise_; }
  uint32_t health() const { return health_; }
  uint32_t top() const { return rise_ + fall_ - 1; }

  // UP; GOING_DOWN: up, but the last check failed; DOWN; GOING_UP: down, but the last
  // check passed.
  op_state state() const {
    if (up()) return last_ok_ || health_ == top() ? op_state::up : op_state::going_down;
    return !last_ok_ || health_ == 0 ? op_state::down : op_state::going_up;
  }

 private:
  uint32_t rise_;
  uint32_t fall_;
  uint32_t health_;
  bool last_ok_ = true;
};

}  // namespace sluice::health
