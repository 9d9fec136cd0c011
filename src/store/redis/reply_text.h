// A hiredis reply's string (a bulk or verbatim string, a status or an
// error) as a view of the reply's own bytes: valid while the reply is.
#pragma once

#include <hiredis/hiredis.h>

#include <string_view>

namespace larder::store {

inline std::string_view textOf(const redisReply* reply) { return {reply->str, reply->len}; }

}  // namespace larder::store
