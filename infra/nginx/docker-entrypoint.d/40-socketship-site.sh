#!/bin/sh
# Run by the nginx image's /docker-entrypoint.sh after the templates are rendered.
#
# Points /etc/nginx/conf.d/socketship/active.conf at the servers to use:
#   PROXY_MODE=http                 -> http.conf
#   PROXY_MODE=tls, no certificate  -> http.conf (answers ACME challenges, keeps the site up)
#   PROXY_MODE=tls, certificate     -> tls.conf
# In TLS mode it then leaves a watcher running beside nginx: when certbot obtains or renews the
# certificate (or an operator replaces the files), the watcher switches to tls.conf if needed
# and reloads nginx gracefully. Open connections stay on the old workers; nothing restarts.
# It reloads only when the certificate or key content changed and `nginx -t` accepts it, so a
# half-written renewal is retried on the next check, never loaded. Each round it writes the time
# to /run/socketship/watcher.heartbeat, which the health check (healthcheck.sh) reads: a watcher
# that died or hangs turns the proxy unhealthy.
set -eu

me=socketship-site
dir=/etc/nginx/conf.d/socketship
state_dir=/run/socketship
log() { printf '%s: %s\n' "$me" "$*"; }

# What the health check found, served to Prometheus on port 9145 (default.conf); empty until its
# first run, so a scrape before that succeeds.
mkdir -p "$state_dir/metrics"
: >"$state_dir/metrics/proxy.prom"
chmod 0755 "$state_dir" "$state_dir/metrics"
chmod 0644 "$state_dir/metrics/proxy.prom"

case "${PROXY_MODE:-http}" in
    http)
        ln -sfn "$dir/http.conf" "$dir/active.conf"
        log "plain HTTP mode"
        exit 0
        ;;
    tls) ;;
    *)
        log "ERROR: PROXY_MODE must be http or tls, not '${PROXY_MODE}'"
        exit 1
        ;;
esac

if [ -z "${DOMAIN:-}" ]; then
    log "ERROR: TLS mode needs DOMAIN (the name the certificate is for); set it in .env"
    exit 1
fi

interval=${CERT_CHECK_INTERVAL:-10}
case "$interval" in
    ''|*[!0-9]*|0) log "ERROR: CERT_CHECK_INTERVAL must be a whole number of seconds, not '$interval'"; exit 1 ;;
esac

# What identifies the certificate nginx should serve; "none" until both files exist.
state() {
    if [ -s "$TLS_CERT_FILE" ] && [ -s "$TLS_KEY_FILE" ]; then
        cat "$TLS_CERT_FILE" "$TLS_KEY_FILE" | cksum
    else
        echo none
    fi
}

site_for() {
    if [ "$1" = none ]; then echo http.conf; else echo tls.conf; fi
}

current=$(state)
ln -sfn "$dir/$(site_for "$current")" "$dir/active.conf"
if [ "$current" = none ]; then
    log "no certificate yet at $TLS_CERT_FILE: serving plain HTTP (ACME challenges and the app) until certbot obtains one"
else
    log "serving HTTPS for $DOMAIN with $TLS_CERT_FILE"
fi

heartbeat() {
    date +%s >"$state_dir/watcher.heartbeat.tmp" && mv -f "$state_dir/watcher.heartbeat.tmp" "$state_dir/watcher.heartbeat"
}

watch_certificate() {
    loaded=$1
    refused=
    heartbeat
    while sleep "$interval"; do
        heartbeat
        now=$(state)
        [ "$now" != "$loaded" ] && [ "$now" != "$refused" ] || continue
        previous=$(readlink "$dir/active.conf")
        ln -sfn "$dir/$(site_for "$now")" "$dir/active.conf"
        if checked=$(nginx -t 2>&1) && nginx -s reload; then
            loaded=$now
            refused=
            if [ "$now" = none ]; then
                log "certificate files gone: reloaded nginx with plain HTTP"
            else
                log "certificate for $DOMAIN changed: reloaded nginx with it"
            fi
        else
            ln -sfn "$previous" "$dir/active.conf"
            # Once per content: a renewal caught half-written is retried when it changes again.
            refused=$now
            log "certificate for $DOMAIN changed but nginx does not accept it; keeping the current configuration. nginx -t says: $checked"
        fi
    done
}

# Detached from the entrypoint: it lives beside nginx for the container's lifetime.
watch_certificate "$current" </dev/null &
echo "$!" >"$state_dir/watcher.pid"
log "watching $TLS_CERT_FILE every ${interval}s"
