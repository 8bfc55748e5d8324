#pragma once
// What the socket operations of worker/core/receive.h and worker/core/splice.h share: an
// operation on Asio's reactor (Boost 1.81, epoll) that completes like `async_read_some`,
// with (error_code, bytes), its memory from Asio's recycled blocks, and how one is started
// on a socket. Each operation says only how it performs (its `perform`, which Asio's
// reactor calls at once and again on each readiness event until it is done).

#include <boost/asio/async_result.hpp>
#include <boost/asio/detail/reactor.hpp>
#include <boost/asio/detail/reactor_op.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/recycling_allocator.hpp>
#include <type_traits>
#include <utility>

#include "worker/core/asio.h"
#include "worker/core/socket_impl.h"

namespace sluice::worker {

// The reactor of the io_context `ex` runs on, looked up once by whoever uses it often.
inline asio::detail::reactor& reactor_of(const asio::any_io_executor& ex) {
  return asio::use_service<asio::detail::reactor>(asio::query(ex, asio::execution::context));
}

#if !defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
// The base of an operation `Derived` whose handler takes (error_code, bytes).
template <typename Derived, typename Handler>
class completing_op : public asio::detail::reactor_op {
 protected:
  completing_op(perform_func_type perform, Handler&& h)
      : reactor_op(asio::error::operation_aborted, perform, &completing_op::complete),
        handler_(std::move(h)) {}

 private:
  // `owner` is null when the io_context is destroyed with the operation pending: the
  // handler is destroyed, not called.
  static void complete(void* owner, asio::detail::scheduler_operation* base, const error_code&,
                       std::size_t) {
    auto* o = static_cast<Derived*>(base);
    Handler h(std::move(o->handler_));
    const error_code ec = o->ec_;
    const std::size_t n = o->bytes_transferred_;
    // Freed before the handler runs, so the next operation can take the same memory.
    asio::recycling_allocator<Derived> alloc;
    o->~Derived();
    alloc.deallocate(o, 1);
    if (owner != nullptr) std::move(h)(ec, n);
  }

  Handler handler_;
};

// Starts `Op<handler>(args..., handler)` as an operation of kind `op_type` (the reactor's
// read_op or write_op) on `s`, tried at once.
template <template <typename> class Op, typename Token, typename... Args>
auto start_reactor_op(asio::detail::reactor& r, tcp::socket& s, int op_type, Token&& token,
                      Args... args) {
  return asio::async_initiate<Token, void(error_code, std::size_t)>(
      [&r, &s, op_type, args...](auto handler) {
        using op_t = Op<std::decay_t<decltype(handler)> >;
        asio::recycling_allocator<op_t> alloc;
        op_t* p = new (alloc.allocate(1)) op_t(args..., std::move(handler));
        auto& impl = socket_impl(s);
        r.start_op(op_type, impl.socket_, impl.reactor_data_, p, false, true);
      },
      token);
}
#endif

}  // namespace sluice::worker
