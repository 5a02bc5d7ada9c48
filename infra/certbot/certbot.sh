#!/bin/sh
# Entry point of the certbot service of the TLS mode (docker-compose.tls.yml).
#
#   certbot.sh run          obtain the certificate for DOMAIN if there is none (retrying until
#                           it works), then try a renewal every RENEW_INTERVAL (the default)
#   certbot.sh obtain       one attempt to obtain it; exits non-zero when it fails
#   certbot.sh renew [ARG]  one renewal pass now (certbot renew ARG..., e.g. --force-renewal)
#
# The HTTP-01 challenge goes through nginx: certbot writes the token into the webroot volume that
# nginx serves at /.well-known/acme-challenge/. nginx picks up a new or renewed certificate by
# itself (infra/nginx/docker-entrypoint.d/40-socketship-site.sh) and reloads gracefully.
#
# Environment:
#   DOMAIN                  the name the certificate is for (its DNS A/AAAA record points here)
#   LETSENCRYPT_EMAIL       optional contact address for the ACME account (Let's Encrypt sends no
#                           expiry mail any more; the proxy's health check warns instead)
#   LETSENCRYPT_STAGING=1   use Let's Encrypt's staging CA (untrusted certificates, high limits)
#   ACME_SERVER             another ACME directory URL (overrides LETSENCRYPT_STAGING)
#   RENEW_INTERVAL          time between renewal checks (12h); certbot renews within 30 days of expiry
#   ISSUE_RETRY_INTERVAL    wait after a failed first issuance (1h; the CA limits failed validations)
#   CERTBOT_NO_RANDOM_SLEEP=1  skip certbot's random delay (up to 8 min) before a scheduled renewal
#   PROXY_HOST              the nginx service that answers the challenge (proxy); `run` waits up to
#                           two minutes for its port 80 before the first attempt
set -eu

WEBROOT=/var/www/certbot
LE_PRODUCTION=https://acme-v02.api.letsencrypt.org/directory
LE_STAGING=https://acme-staging-v02.api.letsencrypt.org/directory

log() { printf 'socketship-certbot: %s\n' "$*"; }
die() { printf 'socketship-certbot: ERROR: %s\n' "$*" >&2; exit 1; }

# "90", "90s", "15m", "12h", "1d" -> seconds (busybox and coreutils sleep differ on suffixes).
seconds() {
    case "$1" in
        *[!0-9smhd]* | '' | [!0-9]*) die "$2 must be a number of seconds or like 15m, 12h, 1d; not '$1'" ;;
        *d) echo $((${1%d} * 86400)) ;;
        *h) echo $((${1%h} * 3600)) ;;
        *m) echo $((${1%m} * 60)) ;;
        *s) echo "${1%s}" ;;
        *) echo "$1" ;;
    esac
}

[ -n "${DOMAIN:-}" ] || die "DOMAIN is not set: put the domain name whose DNS record points at this server in .env (DOMAIN=example.com)"
case "$DOMAIN" in
    *[!A-Za-z0-9.-]* | .* | *.) die "DOMAIN must be a plain DNS name such as example.com, not '$DOMAIN'" ;;
esac

if [ -n "${ACME_SERVER:-}" ]; then
    server=$ACME_SERVER
elif [ "${LETSENCRYPT_STAGING:-0}" = 1 ]; then
    server=$LE_STAGING
else
    server=$LE_PRODUCTION
fi
renew_every=$(seconds "${RENEW_INTERVAL:-12h}" RENEW_INTERVAL)
retry_every=$(seconds "${ISSUE_RETRY_INTERVAL:-1h}" ISSUE_RETRY_INTERVAL)
live=/etc/letsencrypt/live/$DOMAIN
renewal_conf=/etc/letsencrypt/renewal/$DOMAIN.conf

# The CA the existing certificate came from, if any.
issued_by() {
    sed -n 's/^server *= *//p' "$renewal_conf" 2>/dev/null | head -n 1
}

have_certificate() {
    [ -s "$live/fullchain.pem" ] && [ -s "$live/privkey.pem" ]
}

obtain() {
    if [ -n "${LETSENCRYPT_EMAIL:-}" ]; then
        set -- --email "$LETSENCRYPT_EMAIL" --no-eff-email
    else
        # Let's Encrypt sends no expiry mail any more, so an address adds little.
        log "no LETSENCRYPT_EMAIL: registering the ACME account without a contact address"
        set -- --register-unsafely-without-email
    fi
    set -- certonly --non-interactive --webroot --webroot-path "$WEBROOT" \
        --domain "$DOMAIN" --cert-name "$DOMAIN" "$@" --agree-tos \
        --server "$server" --keep-until-expiring
    if have_certificate && [ "$(issued_by)" != "$server" ]; then
        # e.g. from staging to production: the staging certificate is valid for a long time
        # yet, so without this certbot would keep it.
        log "the certificate for $DOMAIN is from $(issued_by); replacing it with one from $server"
        set -- "$@" --force-renewal
    fi
    log "obtaining a certificate for $DOMAIN from $server (HTTP-01 through the proxy's webroot)"
    if certbot "$@"; then
        log "certificate for $DOMAIN is in $live; nginx switches to it within CERT_CHECK_INTERVAL"
        return 0
    fi
    log "could not obtain a certificate for $DOMAIN (certbot's reason is above). Check that the DNS A/AAAA records of $DOMAIN point at this server and that port 80 reaches the proxy from the internet. Meanwhile nginx keeps serving plain http://$DOMAIN/."
    return 1
}

renew() {
    if [ "${CERTBOT_NO_RANDOM_SLEEP:-0}" = 1 ]; then
        set -- --no-random-sleep-on-renew "$@"
    fi
    # Webroot and CA are those stored with the certificate at issuance.
    if certbot renew --non-interactive --cert-name "$DOMAIN" "$@"; then
        return 0
    fi
    log "renewal of $DOMAIN failed (certbot's reason is above); nginx keeps serving the current certificate and the next attempt is in ${RENEW_INTERVAL:-12h}"
    return 1
}

# sleep in the background and wait for it, so that SIGTERM (docker stop) ends the wait at once.
pause() {
    sleep "$1" &
    wait $! || true
}
trap 'log "stopping"; exit 0' TERM INT

# The challenge is answered by nginx: a first attempt before it listens would fail and wait a
# whole ISSUE_RETRY_INTERVAL. (Compose starts certbot once the proxy has started, not once it is
# healthy: an expiring certificate makes the proxy unhealthy, and must not keep certbot away.)
wait_for_proxy() {
    host=${PROXY_HOST:-proxy}
    i=0
    until python3 -c 'import socket, sys; socket.create_connection((sys.argv[1], 80), 2).close()' "$host" 2>/dev/null; do
        i=$((i + 1))
        if [ "$i" -ge 60 ]; then
            log "$host:80 does not answer after two minutes; trying anyway"
            return 0
        fi
        pause 2
    done
}

command=${1:-run}
[ "$#" -eq 0 ] || shift
case "$command" in
    obtain)
        obtain
        ;;
    renew)
        renew "$@"
        ;;
    run)
        have_certificate || wait_for_proxy
        until have_certificate && [ "$(issued_by)" = "$server" ]; do
            obtain && break
            log "next attempt in ${ISSUE_RETRY_INTERVAL:-1h}"
            pause "$retry_every"
        done
        log "renewal check every ${RENEW_INTERVAL:-12h}"
        while :; do
            pause "$renew_every"
            renew || true
        done
        ;;
    *)
        die "unknown command '$command' (run, obtain or renew)"
        ;;
esac
