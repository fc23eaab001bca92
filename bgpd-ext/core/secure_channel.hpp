// One end of the HA channel's TLS 1.3 session, without sockets: ciphertext
// in, plaintext out, and ciphertext to send (OpenSSL over memory BIOs). The
// host owns the socket and moves the bytes; PairNode runs the frame codec
// over the plaintext.
//
// - TLS 1.3 only, TLS_AES_256_GCM_SHA384, an external PSK (auth.hpp) with
//   (EC)DHE key exchange (forward secrecy); no certificate, no session
//   ticket, no early data.
// - PSK identity: the name of the connecting RP. The accepting RP refuses
//   its own name (a reflection) and any name but its configured partner's,
//   and derives the PSK of that direction; the connecting RP uses the PSK of
//   (itself -> its partner), so a server holding it is its partner.
// - Every record is authenticated: a record altered, replayed, reordered or
//   cut short fails, and the session fails with it (failure() says how).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace frr_ha {

// Which end of the connection this RP is: it accepted it (TLS server) or
// connected (TLS client).
enum class ChannelSide { Accepted, Connected };

enum class SecurityFailure {
    None,
    NotTls,              // the partner's first bytes are not a TLS handshake
    OldProtocol,         // an frr-ha channel without TLS (an older RP)
    WrongKey,            // the PSKs differ: the partner has another key
    Reflection,          // the connecting side named this RP itself
    UnknownIdentity,     // the connecting side named an RP that is not the partner
    HandshakeIntegrity,  // a handshake record or Finished failed: replayed, spliced or altered
    HandshakeFailed,     // another handshake failure (OpenSSL's reason says which)
    PartnerAlert,        // the partner refused the session (its alert says why)
    RecordIntegrity,     // after the handshake: a record failed its integrity check
    Truncated,           // the stream ended inside a TLS record
    Internal,            // OpenSSL could not run (out of memory, ...)
};

std::string_view describe(SecurityFailure failure);

class SecureChannel {
public:
    // self: this RP's name; partner: the configured partner's; key: the
    // configured `bgp ha key`. Throws std::runtime_error if OpenSSL cannot
    // set up the session.
    SecureChannel(ChannelSide side, std::string self, std::string partner, std::string_view key);
    ~SecureChannel();
    SecureChannel(const SecureChannel &) = delete;
    SecureChannel &operator=(const SecureChannel &) = delete;

    // Connecting side: writes the ClientHello to the output. No-op on the
    // accepting side (it waits for one).
    void start();

    // Ciphertext from the partner. Plaintext it carried is appended to
    // *plain (also when it fails: what came before the failure is
    // authentic). False on a failure (failure(), failure_text()); the
    // session is then dead, and the output may hold an alert for the partner.
    bool receive(const void *data, std::size_t len, std::string *plain);

    // Plaintext to protect and send; held until the handshake completes.
    // False if the session has failed.
    bool send(std::string_view plain);

    // Queues close_notify: the partner can tell this end closed on purpose.
    void close();

    // The partner's stream ended (EOF).
    enum class End {
        Clean,     // after its close_notify
        NoNotify,  // at a record boundary, without close_notify (a crash, a cut)
        Truncated, // inside a record (also recorded as failure())
    };
    End end_of_stream();

    // Ciphertext to send, in order; empties the output.
    std::string take_output();

    bool established() const;
    bool failed() const { return failure() != SecurityFailure::None; }
    // The partner sent close_notify.
    bool partner_closed() const;
    SecurityFailure failure() const;
    const std::string &failure_text() const;
    // "TLSv1.3", "TLS_AES_256_GCM_SHA384" once established, else "".
    std::string version() const;
    std::string cipher() const;
    // The PSK identity the partner presented (accepting side) or this RP
    // presented (connecting side).
    const std::string &identity() const;
    ChannelSide side() const;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace frr_ha
