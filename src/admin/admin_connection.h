// AdminConnection: one connection to the admin listener. One request per
// connection: it reads a request (head; any body is read and dropped),
// answers it through AdminApi and closes after the answer is written
// ("Connection: close"). The AdminServer owns it; the stream's close
// callback hands it back, and it is destroyed on a later turn (STYLE L2,
// net::Graveyard). It owns the Pending of a purge or
// readiness probe in flight, so a client that leaves detaches it (L4).
#pragma once

#include <functional>
#include <string>

#include "admin/admin_api.h"
#include "http/request_parser.h"
#include "net/tcp_stream.h"
#include "net/timer.h"

namespace larder::admin {

class AdminConnection : public net::TcpStream::Handler, public http::RequestParser::Handler {
 public:
  using ClosedCallback = std::function<void(AdminConnection&)>;

  AdminConnection(net::Loop& loop, AdminApi& api, ClosedCallback on_closed);
  ~AdminConnection() override;

  bool accept(uv_stream_t* server);
  void close();

 private:
  // net::TcpStream::Handler
  void onStreamRead(std::string_view data) override;
  void onStreamEnd(int status) override;
  void onStreamWritten(int status) override;
  void onStreamClosed() override;
  // http::RequestParser::Handler
  void onRequestHead(http::RequestHead& head) override;
  void onRequestBody(std::string_view) override {}
  void onRequestComplete() override;

  void respond(AdminResponse&& response);

  // A request head and body must arrive within this; answers are small.
  static constexpr base::Duration kRequestTimeout{10000};

  AdminApi& api_;
  ClosedCallback on_closed_;
  net::TcpStream stream_;
  http::RequestParser parser_;
  net::Timer timer_;
  AdminRequest request_;
  cache::Pending pending_;
  bool answered_ = false;
  bool closing_ = false;
};

}  // namespace larder::admin
