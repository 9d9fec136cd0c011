#include "http/message.h"

namespace larder::http {

// Method names are case-sensitive (RFC 9110 §9.1): "get" is not GET.
bool isSafeMethod(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE";
}

bool isIdempotentMethod(std::string_view method) {
  return isSafeMethod(method) || method == "PUT" || method == "DELETE";
}

}  // namespace larder::http
