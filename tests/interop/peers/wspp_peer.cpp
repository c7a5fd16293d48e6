// Interop peer on WebSocket++ (Debian libwebsocketpp-dev) over standalone Asio
// (libasio-dev, built with -DASIO_STANDALONE):
//
//     wspp_peer client ws://127.0.0.1:PORT/PATH
//     wspp_peer await-close ws://...  (our server closes first: "close:ours-first")
//     wspp_peer server PORT          (0: a free port; prints "listening on 127.0.0.1:P")
//
// Drives the plan in plan.h over one connection; as a server it accepts one client and
// selects "chat" when offered. A fragmented message is a text message with the fin bit
// clear, then continuation messages (WebSocket++ writes one frame per message it is
// given), so it also runs "fragment:ping-between".
#include <websocketpp/client.hpp>
#include <websocketpp/config/asio_no_tls.hpp>
#include <websocketpp/config/asio_no_tls_client.hpp>
#include <websocketpp/server.hpp>

#include <unistd.h>

#include <cstdio>
#include <string>

#include "plan.h"

using websocketpp::connection_hdl;
namespace opcode = websocketpp::frame::opcode;

// One connection driven through the plan; Endpoint is a server or a client endpoint.
template <typename Endpoint>
class Driver {
  public:
    Driver(Endpoint &ep, bool peer_is_client, bool await_close = false)
        : ep_(ep), peer_is_client_(peer_is_client), await_close_(await_close) {
        // Not PLAN_CAN_SPLIT_UTF8: WebSocket++ checks each text frame it sends as UTF-8.
        plan_init(&plan_, peer_is_client, 0,
                  PLAN_CAN_FRAMES | PLAN_CAN_PING_BETWEEN | PLAN_CAN_SEE_PONGS);
        ep.clear_access_channels(websocketpp::log::alevel::all);
        ep.clear_error_channels(websocketpp::log::elevel::all);
        ep.set_error_channels(websocketpp::log::elevel::fatal);
        ep.set_max_message_size(8 << 20);
        ep.set_open_handler([this](connection_hdl h) { opened(h); });
        ep.set_message_handler([this](connection_hdl, typename Endpoint::message_ptr msg) {
            const std::string &data = msg->get_payload();
            plan_message(&plan_, msg->get_opcode() == opcode::binary, data.data(), data.size());
            step();
        });
        ep.set_pong_handler([this](connection_hdl, std::string payload) {
            plan_pong(&plan_, payload.data(), payload.size());
            step();
        });
        ep.set_close_handler([this](connection_hdl h) { closed(h); });
        ep.set_fail_handler([this](connection_hdl h) {
            // Once our connection is open, only its failures count (the server's
            // pending accept is aborted when it stops listening).
            if (hdl_.expired() || same(h, hdl_))
                plan_fail(&plan_, ep_.get_con_from_hdl(h)->get_ec().message().c_str());
        });
    }

    bool failed() const {
        return await_close_ ? ours_first_ != 1 : plan_.failed || !plan_.finished;
    }

  private:
    static bool same(connection_hdl a, connection_hdl b) {
        return !a.owner_before(b) && !b.owner_before(a);
    }

    void opened(connection_hdl h) {
        typename Endpoint::connection_ptr con = ep_.get_con_from_hdl(h);
        hdl_ = h;
        if (await_close_) {
            plan_ours_first_open();
            return;
        }
        if (!peer_is_client_) {
            ep_.stop_listening(); // one client only: run() returns once it is done
            plan_opened(&plan_, con->get_subprotocol().c_str());
        } else {
            // A client connection leaves get_subprotocol() empty: read the response.
            plan_opened(&plan_, con->get_response_header("Sec-WebSocket-Protocol").c_str());
        }
        step();
    }

    void closed(connection_hdl h) {
        typename Endpoint::connection_ptr con = ep_.get_con_from_hdl(h);
        char detail[200];
        if (await_close_) {
            const std::string &reason = con->get_remote_close_reason();
            ours_first_ = plan_ours_first_closed(con->get_remote_close_code(), reason.data(), reason.size());
            return;
        }
        snprintf(detail, sizeof detail, "echo %u \"%s\"", (unsigned)con->get_remote_close_code(),
                 con->get_remote_close_reason().c_str());
        plan_closed(&plan_, 1, con->get_remote_close_code(), 0, detail);
    }

    // Send what the plan says next (at the start and after each echo or pong), until
    // it waits for replies.
    void step() {
        plan_step *s;
        while ((s = plan_next(&plan_))) {
            typename Endpoint::connection_ptr con = ep_.get_con_from_hdl(hdl_);
            websocketpp::lib::error_code ec;
            switch (s->kind) {
            case PLAN_MESSAGE:
                ec = con->send(s->data, s->len, s->binary ? opcode::binary : opcode::text);
                break;
            case PLAN_FRAME: {
                typename Endpoint::message_ptr msg =
                    con->get_message(s->first ? opcode::text : opcode::continuation, s->len);
                msg->set_payload(s->data, s->len);
                msg->set_fin(s->fin != 0);
                ec = con->send(msg);
                break;
            }
            case PLAN_PING:
                con->ping(std::string((const char *)s->data, s->len), ec);
                break;
            case PLAN_CLOSE:
                con->close((websocketpp::close::status::value)plan_.close_code, plan_.close_reason, ec);
                break;
            }
            if (ec) {
                plan_fail(&plan_, ec.message().c_str());
                return;
            }
            plan_sent(&plan_);
        }
    }

    Endpoint &ep_;
    bool peer_is_client_, await_close_;
    int ours_first_ = -1; // await-close: 1 or 0 once the close arrived
    connection_hdl hdl_;
    plan plan_;
};

typedef websocketpp::server<websocketpp::config::asio> server;
typedef websocketpp::client<websocketpp::config::asio_client> client;

static int run_server(unsigned short port) {
    server ep;
    Driver<server> driver(ep, false);
    ep.init_asio();
    ep.set_validate_handler([&ep](connection_hdl h) {
        server::connection_ptr con = ep.get_con_from_hdl(h);
        for (const std::string &p : con->get_requested_subprotocols())
            if (p == "chat")
                con->select_subprotocol("chat");
        return true;
    });
    ep.listen(asio::ip::tcp::endpoint(asio::ip::address::from_string("127.0.0.1"), port));
    websocketpp::lib::asio::error_code ec;
    printf("listening on 127.0.0.1:%u\n", (unsigned)ep.get_local_endpoint(ec).port());
    fflush(stdout);
    ep.start_accept();
    ep.run();
    return driver.failed() ? 1 : 0;
}

static int run_client(const std::string &url, bool await_close) {
    client ep;
    Driver<client> driver(ep, true, await_close);
    ep.init_asio();
    websocketpp::lib::error_code ec;
    client::connection_ptr con = ep.get_connection(url, ec);
    if (ec) {
        plan_report("subprotocol", 0, "connect: %s", ec.message().c_str());
        return 1;
    }
    con->add_subprotocol("chat");
    con->add_subprotocol("superchat");
    ep.connect(con);
    ep.run();
    return driver.failed() ? 1 : 0;
}

int main(int argc, char **argv) {
    std::string mode = argc == 3 ? argv[1] : "";
    if (mode != "client" && mode != "await-close" && mode != "server") {
        fprintf(stderr, "usage: wspp_peer client|await-close URL | wspp_peer server PORT\n");
        return 2;
    }
    alarm(90); // whatever happens, this process ends
    if (mode != "server")
        return run_client(argv[2], mode == "await-close");
    return run_server((unsigned short)atoi(argv[2]));
}
