#pragma once
// The Asio pieces the data path uses, in one place: coroutines whose operations report
// errors as values (`as_tuple`), never as exceptions.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace sluice::worker {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
template <typename T = void>
using awaitable = asio::awaitable<T>;

// `co_await op(..., use_result)` yields a tuple (error_code, results...).
inline constexpr auto use_result = asio::as_tuple(asio::use_awaitable);

}  // namespace sluice::worker
