#include "secure_channel.hpp"

#include "auth.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <stdexcept>

namespace frr_ha {

namespace {

struct SslCtxFree {
    void operator()(SSL_CTX *p) const { SSL_CTX_free(p); }
};
struct SslFree {
    void operator()(SSL *p) const { SSL_free(p); }
};
struct SessionFree {
    void operator()(SSL_SESSION *p) const { SSL_SESSION_free(p); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;
using SessionPtr = std::unique_ptr<SSL_SESSION, SessionFree>;

// TLS_AES_256_GCM_SHA384, the one suite of the channel (and of its PSK).
constexpr unsigned char kSuiteId[2] = {0x13, 0x02};
constexpr const char *kSuiteName = "TLS_AES_256_GCM_SHA384";

// The first byte of a frame of the channel before TLS (frame_codec.hpp's
// magic): no TLS record starts with it.
constexpr unsigned char kOldFrameMagic = 0xFA;

// OpenSSL's reason for the last error of this thread, and its text; clears
// the queue so that the next channel starts clean.
int last_reason(std::string *text)
{
    unsigned long err = 0, e;
    while ((e = ERR_get_error()) != 0)
        err = e;
    if (err == 0) {
        *text = "no error reported by OpenSSL";
        return 0;
    }
    const char *reason = ERR_reason_error_string(err);
    *text = reason ? reason : "OpenSSL error " + std::to_string(ERR_GET_REASON(err));
    return ERR_GET_REASON(err);
}

}  // namespace

std::string_view describe(SecurityFailure failure)
{
    switch (failure) {
    case SecurityFailure::None:
        return "no failure";
    case SecurityFailure::NotTls:
        return "not a TLS 1.3 handshake";
    case SecurityFailure::OldProtocol:
        return "the partner speaks the HA channel without TLS (an older frr-ha)";
    case SecurityFailure::WrongKey:
        return "the partner does not hold this RP's key";
    case SecurityFailure::Reflection:
        return "reflection: the connecting side claimed this RP's own name";
    case SecurityFailure::UnknownIdentity:
        return "the connecting side is not the configured partner";
    case SecurityFailure::HandshakeIntegrity:
        return "a handshake message failed its integrity check (a replayed, spliced or "
               "altered handshake)";
    case SecurityFailure::PartnerAlert:
        return "the partner refused the TLS session";
    case SecurityFailure::HandshakeFailed:
        return "the TLS handshake failed";
    case SecurityFailure::RecordIntegrity:
        return "a record failed its integrity check (altered on the way)";
    case SecurityFailure::Truncated:
        return "the stream ended inside a TLS record (truncated)";
    case SecurityFailure::Internal:
        return "TLS could not run";
    }
    return "unknown failure";
}

struct SecureChannel::Impl {
    ChannelSide side;
    std::string self, partner, key;
    std::string identity;  // presented (connecting) or received (accepting)
    SslCtxPtr ctx;
    SslPtr ssl;
    BIO *in = nullptr;   // owned by ssl
    BIO *out = nullptr;  // owned by ssl
    bool started = false;
    bool any_received = false;
    bool done = false;             // handshake complete
    bool partner_closed = false;   // close_notify received
    bool closing = false;          // close_notify sent
    SecurityFailure failure = SecurityFailure::None;
    std::string failure_text;
    // Set by the PSK callbacks when they refuse the partner's identity.
    SecurityFailure refused = SecurityFailure::None;
    std::string held;  // plaintext waiting for the handshake

    SessionPtr psk_session(std::string_view client, std::string_view server)
    {
        SessionPtr sess(SSL_SESSION_new());
        const SSL_CIPHER *cipher = SSL_CIPHER_find(ssl.get(), kSuiteId);
        if (!sess || !cipher)
            return nullptr;
        const auto psk = channel_psk(key, client, server);
        if (!SSL_SESSION_set1_master_key(sess.get(),
                                         reinterpret_cast<const unsigned char *>(psk.data()),
                                         psk.size()) ||
            !SSL_SESSION_set_cipher(sess.get(), cipher) ||
            !SSL_SESSION_set_protocol_version(sess.get(), TLS1_3_VERSION))
            return nullptr;
        return sess;
    }

    void fail(SecurityFailure why, const std::string &detail)
    {
        if (failure != SecurityFailure::None)
            return;
        failure = why;
        failure_text = std::string(describe(why));
        if (!detail.empty())
            failure_text += " (" + detail + ")";
    }

    // Classifies a failed SSL call.
    void fail_from_ssl(int ret)
    {
        const int err = SSL_get_error(ssl.get(), ret);
        std::string text;
        const int reason = last_reason(&text);
        if (refused != SecurityFailure::None) {
            fail(refused, "identity '" + identity + "'");
            return;
        }
        if (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN) {
            fail(SecurityFailure::Internal, text);
            return;
        }
        if (reason == SSL_R_BINDER_DOES_NOT_VERIFY) {
            fail(SecurityFailure::WrongKey, "PSK binder does not verify");
            return;
        }
        if (!done && side == ChannelSide::Connected &&
            (reason == SSL_R_SSLV3_ALERT_ILLEGAL_PARAMETER ||
             reason == SSL_R_TLSV1_ALERT_DECRYPT_ERROR)) {
            // What an accepting end answers when this RP's PSK binder does
            // not verify under its key.
            fail(SecurityFailure::WrongKey, "the partner's alert: " + text);
            return;
        }
        if (reason == SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC ||
            reason == SSL_R_DIGEST_CHECK_FAILED || reason == SSL_R_INVALID_SESSION_ID ||
            reason == SSL_R_BAD_KEY_SHARE || reason == SSL_R_BAD_PSK ||
            reason == SSL_R_BAD_PSK_IDENTITY) {
            fail(done ? SecurityFailure::RecordIntegrity : SecurityFailure::HandshakeIntegrity,
                 text);
            return;
        }
        if (reason >= SSL_AD_REASON_OFFSET) {
            fail(SecurityFailure::PartnerAlert, text);
            return;
        }
        if (done) {
            fail(SecurityFailure::RecordIntegrity, text);
            return;
        }
        const bool not_tls = reason == SSL_R_WRONG_VERSION_NUMBER ||
                             reason == SSL_R_HTTP_REQUEST || reason == SSL_R_HTTPS_PROXY_REQUEST ||
                             reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
                             reason == SSL_R_UNKNOWN_PROTOCOL ||
                             reason == SSL_R_UNSUPPORTED_PROTOCOL ||
                             reason == SSL_R_WRONG_SSL_VERSION ||
                             reason == SSL_R_RECORD_LENGTH_MISMATCH;
        fail(not_tls ? SecurityFailure::NotTls : SecurityFailure::HandshakeFailed, text);
    }

    void drive(std::string *plain)
    {
        if (!done) {
            ERR_clear_error();
            const int ret = SSL_do_handshake(ssl.get());
            if (ret != 1) {
                if (SSL_get_error(ssl.get(), ret) != SSL_ERROR_WANT_READ)
                    fail_from_ssl(ret);
                return;
            }
            done = true;
            if (!held.empty()) {
                std::string pending;
                pending.swap(held);
                write(pending);
            }
        }
        char buf[16384];
        for (;;) {
            ERR_clear_error();
            const int n = SSL_read(ssl.get(), buf, sizeof(buf));
            if (n > 0) {
                plain->append(buf, static_cast<std::size_t>(n));
                continue;
            }
            const int err = SSL_get_error(ssl.get(), n);
            if (err == SSL_ERROR_WANT_READ)
                return;
            if (err == SSL_ERROR_ZERO_RETURN) {
                partner_closed = true;
                return;
            }
            fail_from_ssl(n);
            return;
        }
    }

    bool write(std::string_view data)
    {
        std::size_t off = 0;
        while (off < data.size()) {
            ERR_clear_error();
            const int n = SSL_write(ssl.get(), data.data() + off,
                                    static_cast<int>(std::min<std::size_t>(data.size() - off,
                                                                           1u << 20)));
            if (n <= 0) {
                fail_from_ssl(n);
                return false;
            }
            off += static_cast<std::size_t>(n);
        }
        return true;
    }
};

namespace {

SecureChannel::Impl *impl_of(SSL *ssl)
{
    return static_cast<SecureChannel::Impl *>(SSL_get_app_data(ssl));
}

// Connecting side: the PSK of (this RP -> its partner), identity = own name.
int use_session(SSL *ssl, const EVP_MD *md, const unsigned char **id, std::size_t *idlen,
                SSL_SESSION **sess)
{
    auto *impl = impl_of(ssl);
    *sess = nullptr;
    try {
        auto session = impl->psk_session(impl->self, impl->partner);
        if (!session)
            return 0;
        const SSL_CIPHER *cipher = SSL_SESSION_get0_cipher(session.get());
        if (md && md != SSL_CIPHER_get_handshake_digest(cipher))
            return 1;  // the server chose a suite our PSK cannot serve: no PSK
        *id = reinterpret_cast<const unsigned char *>(impl->identity.data());
        *idlen = impl->identity.size();
        *sess = session.release();  // OpenSSL frees it
        return 1;
    } catch (const std::exception &) {
        return 0;
    }
}

// Accepting side: only the configured partner, never this RP's own name.
int find_session(SSL *ssl, const unsigned char *identity, std::size_t len, SSL_SESSION **sess)
{
    auto *impl = impl_of(ssl);
    *sess = nullptr;
    impl->identity.assign(reinterpret_cast<const char *>(identity), len);
    if (impl->identity == impl->self) {
        impl->refused = SecurityFailure::Reflection;
        return 0;
    }
    if (impl->identity != impl->partner) {
        impl->refused = SecurityFailure::UnknownIdentity;
        return 0;
    }
    try {
        auto session = impl->psk_session(impl->partner, impl->self);
        if (!session)
            return 0;
        *sess = session.release();  // OpenSSL frees it
        return 1;
    } catch (const std::exception &) {
        return 0;
    }
}

}  // namespace

SecureChannel::SecureChannel(ChannelSide side, std::string self, std::string partner,
                             std::string_view key)
    : impl_(std::make_unique<Impl>())
{
    auto &d = *impl_;
    d.side = side;
    d.self = std::move(self);
    d.partner = std::move(partner);
    d.key = std::string(key);
    if (side == ChannelSide::Connected)
        d.identity = d.self;

    d.ctx.reset(SSL_CTX_new(side == ChannelSide::Connected ? TLS_client_method()
                                                           : TLS_server_method()));
    if (!d.ctx)
        throw std::runtime_error("cannot create a TLS context");
    SSL_CTX *ctx = d.ctx.get();
    if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
        !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) ||
        !SSL_CTX_set_ciphersuites(ctx, kSuiteName))
        throw std::runtime_error("cannot restrict TLS to 1.3 and " + std::string(kSuiteName));
    // No resumption (each channel runs a full PSK-DHE handshake), no early
    // data (it could be replayed), no renegotiation-like surprises.
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_max_early_data(ctx, 0);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);

    d.ssl.reset(SSL_new(ctx));
    if (!d.ssl)
        throw std::runtime_error("cannot create a TLS session");
    SSL *ssl = d.ssl.get();
    SSL_set_app_data(ssl, impl_.get());
    d.in = BIO_new(BIO_s_mem());
    d.out = BIO_new(BIO_s_mem());
    if (!d.in || !d.out) {
        BIO_free(d.in);
        BIO_free(d.out);
        throw std::runtime_error("cannot create TLS buffers");
    }
    // An empty input means "more to come" until end_of_stream().
    BIO_set_mem_eof_return(d.in, -1);
    SSL_set_bio(ssl, d.in, d.out);  // ssl owns both from here
    if (side == ChannelSide::Connected) {
        SSL_set_connect_state(ssl);
        SSL_set_psk_use_session_callback(ssl, use_session);
    } else {
        SSL_set_accept_state(ssl);
        SSL_set_psk_find_session_callback(ssl, find_session);
    }
}

SecureChannel::~SecureChannel() = default;

void SecureChannel::start()
{
    auto &d = *impl_;
    if (d.started || d.side != ChannelSide::Connected)
        return;
    d.started = true;
    std::string none;
    d.drive(&none);
}

bool SecureChannel::receive(const void *data, std::size_t len, std::string *plain)
{
    auto &d = *impl_;
    if (d.failure != SecurityFailure::None)
        return false;
    if (len == 0)
        return true;
    if (!d.any_received) {
        d.any_received = true;
        if (*static_cast<const unsigned char *>(data) == kOldFrameMagic) {
            d.fail(SecurityFailure::OldProtocol, "");
            return false;
        }
    }
    if (d.partner_closed)
        return true;  // nothing counts after close_notify
    d.started = true;
    const int n = BIO_write(d.in, data, static_cast<int>(len));
    if (n != static_cast<int>(len)) {
        d.fail(SecurityFailure::Internal, "cannot buffer received bytes");
        return false;
    }
    d.drive(plain);
    return d.failure == SecurityFailure::None;
}

bool SecureChannel::send(std::string_view plain)
{
    auto &d = *impl_;
    if (d.failure != SecurityFailure::None || d.closing)
        return false;
    if (!d.done) {
        d.held.append(plain);
        return true;
    }
    return d.write(plain);
}

void SecureChannel::close()
{
    auto &d = *impl_;
    if (d.closing || d.failure != SecurityFailure::None || !d.done)
        return;
    d.closing = true;
    ERR_clear_error();
    SSL_shutdown(d.ssl.get());
}

SecureChannel::End SecureChannel::end_of_stream()
{
    auto &d = *impl_;
    if (d.partner_closed)
        return End::Clean;
    if (BIO_ctrl_pending(d.in) > 0 || SSL_has_pending(d.ssl.get())) {
        d.fail(SecurityFailure::Truncated, "");
        return End::Truncated;
    }
    return End::NoNotify;
}

std::string SecureChannel::take_output()
{
    auto &d = *impl_;
    std::string out;
    const auto pending = BIO_ctrl_pending(d.out);
    if (pending == 0)
        return out;
    out.resize(pending);
    const int n = BIO_read(d.out, out.data(), static_cast<int>(out.size()));
    out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return out;
}

bool SecureChannel::established() const
{
    return impl_->done && impl_->failure == SecurityFailure::None;
}

bool SecureChannel::partner_closed() const { return impl_->partner_closed; }
SecurityFailure SecureChannel::failure() const { return impl_->failure; }
const std::string &SecureChannel::failure_text() const { return impl_->failure_text; }
const std::string &SecureChannel::identity() const { return impl_->identity; }
ChannelSide SecureChannel::side() const { return impl_->side; }

std::string SecureChannel::version() const
{
    return impl_->done ? SSL_get_version(impl_->ssl.get()) : "";
}

std::string SecureChannel::cipher() const
{
    if (!impl_->done)
        return {};
    const SSL_CIPHER *c = SSL_get_current_cipher(impl_->ssl.get());
    return c ? SSL_CIPHER_get_name(c) : "";
}

}  // namespace frr_ha
