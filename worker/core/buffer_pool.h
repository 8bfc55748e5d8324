#pragma once
// Read buffers a worker's sessions borrow while they wait for bytes and give back when a
// connection goes idle: ten thousand idle keep-alive clients then hold no read buffer at
// all, and a busy connection takes one from the free list without touching the heap.

#include <cstddef>
#include <memory>
#include <vector>

namespace sluice::worker {

class buffer_pool {
 public:
  using buffer = std::unique_ptr<char[]>;
  static constexpr size_t max_free = 256;  // kept for reuse; more are freed

  void set_size(size_t bytes) { size_ = bytes; }
  size_t size() const { return size_; }

  buffer take() {
    if (free_.empty()) return buffer(new char[size_]);
    buffer b = std::move(free_.back());
    free_.pop_back();
    return b;
  }
  void give(buffer b) {
    if (b && free_.size() < max_free) free_.push_back(std::move(b));
  }

 private:
  size_t size_ = 16384;
  std::vector<buffer> free_;
};

}  // namespace sluice::worker
