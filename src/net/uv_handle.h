// UvHandle<T>: owns one heap-allocated libuv handle (STYLE L1).
// libuv handles are not movable and their memory must outlive uv_close until
// the close callback runs, so the handle lives on the heap, the destructor
// calls uv_close, and the memory is freed only in the close callback.
// When closed without a callback the handle's `data` is cleared first: a
// cancelled-request callback that still fires must check it.
#pragma once

#include <uv.h>

#include <cstdlib>

#include "base/assert.h"

namespace larder::net {

template <typename T>
class UvHandle {
 public:
  UvHandle() : cell_(static_cast<Cell*>(std::calloc(1, sizeof(Cell)))) {
    if (cell_ == nullptr) LARDER_FATAL("out of memory allocating a libuv handle");
  }
  ~UvHandle() { close(); }
  UvHandle(const UvHandle&) = delete;
  UvHandle& operator=(const UvHandle&) = delete;

  T* get() const { return &cell_->handle; }
  uv_handle_t* base() const { return reinterpret_cast<uv_handle_t*>(get()); }
  uv_stream_t* stream() const { return reinterpret_cast<uv_stream_t*>(get()); }
  // Call once uv_*_init succeeded: from then on only uv_close may free it.
  void markInitialized() { initialized_ = true; }
  bool isOpen() const { return cell_ != nullptr; }

  // Idempotent. `on_closed` (optional) runs from the close callback, after
  // every cancelled request callback of this handle has run (STYLE L2).
  void close(uv_close_cb on_closed = nullptr) {
    if (cell_ == nullptr) return;
    if (!initialized_) {
      std::free(cell_);
    } else {
      if (on_closed == nullptr) base()->data = nullptr;
      cell_->on_closed = on_closed;
      uv_close(base(), &UvHandle::onClose);
    }
    cell_ = nullptr;
  }

 private:
  // The handle comes first so a uv_handle_t* is also a Cell*.
  struct Cell {
    T handle;
    uv_close_cb on_closed;
  };
  static void onClose(uv_handle_t* handle) {
    Cell* cell = reinterpret_cast<Cell*>(handle);
    if (cell->on_closed != nullptr) cell->on_closed(handle);
    std::free(cell);
  }

  Cell* cell_;
  bool initialized_ = false;
};

}  // namespace larder::net
