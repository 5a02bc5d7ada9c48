#!/bin/sh
# The proxy's health check (docker-compose.yml), run by Docker every PROXY_HEALTH_INTERVAL.
#
# Healthy when
#   http         nginx answers http://127.0.0.1/healthz: port 80 and the app behind it;
# and in TLS mode, once a certificate is in use (40-socketship-site.sh switched to tls.conf):
#   https        the HTTPS listener answers /healthz too (for DOMAIN, through SNI);
#   certificate  the certificate it serves is valid for more than CERT_EXPIRY_DAYS days (14), so a
#                renewal that keeps failing shows weeks before browsers refuse the site;
#   watcher      the certificate watcher wrote its heartbeat within three check intervals, so a
#                dead watcher (no renewal would ever be loaded) does not go unnoticed.
# It prints one line per check (docker inspect shows it) and writes the same findings, with the
# certificate's expiry time, to /run/socketship/metrics/proxy.prom, which nginx serves to the
# monitoring profile's Prometheus on the internal port 9145.
set -u

state_dir=/run/socketship
metrics=$state_dir/metrics/proxy.prom
days=${CERT_EXPIRY_DAYS:-14}
case "$days" in
    '' | *[!0-9]*) echo "CERT_EXPIRY_DAYS must be a whole number of days, not '$days'"; exit 1 ;;
esac
interval=${CERT_CHECK_INTERVAL:-10}
case "$interval" in '' | *[!0-9]*) interval=10 ;; esac
now=$(date +%s)
failed=0
checks=
report() { # check ok|fail message
    printf '%s: %s: %s\n' "$1" "$2" "$3"
    if [ "$2" = ok ]; then value=1; else value=0 failed=1; fi
    checks="${checks}socketship_proxy_health_check{check=\"$1\"} $value
"
}

if curl -fsS -o /dev/null --max-time 4 http://127.0.0.1/healthz 2>/dev/null; then
    report http ok "http://127.0.0.1/healthz answers"
else
    report http fail "http://127.0.0.1/healthz does not answer 2xx (nginx, or the app behind it)"
fi

expiry=
mode=${PROXY_MODE:-http}
site=$(readlink /etc/nginx/conf.d/socketship/active.conf 2>/dev/null || true)
if [ "$mode" = tls ]; then
    beat=$(cat "$state_dir/watcher.heartbeat" 2>/dev/null || echo 0)
    case "$beat" in '' | *[!0-9]*) beat=0 ;; esac
    if [ $((now - beat)) -le $((3 * interval + 10)) ]; then
        report watcher ok "certificate watcher alive (heartbeat $((now - beat)) s ago)"
    else
        report watcher fail "certificate watcher silent for $((now - beat)) s (every ${interval} s expected): renewals would not be loaded"
    fi
    if [ "${site##*/}" = tls.conf ]; then
        # -k: this checks the listener and the expiry of what it serves, not the chain (a
        # staging or private CA is fine here). %{certs} lists the served chain, leaf first.
        if served=$(curl -ksS -o /dev/null --max-time 4 --resolve "$DOMAIN:443:127.0.0.1" \
            -w '%{certs}' "https://$DOMAIN/healthz" 2>&1); then
            report https ok "https://$DOMAIN/healthz answers on the TLS listener"
            not_after=$(printf '%s\n' "$served" | sed -n 's/^Expire date: *//p' | head -n 1)
            expiry=$(date -d "$not_after" +%s 2>/dev/null || true)
            if [ -z "$expiry" ]; then
                report certificate fail "cannot read the served certificate's expiry ('$not_after')"
            elif [ $((expiry - now)) -gt $((days * 86400)) ]; then
                report certificate ok "served certificate valid until $not_after ($(((expiry - now) / 86400)) days)"
            else
                report certificate fail "served certificate expires $not_after, within $days days (CERT_EXPIRY_DAYS): renewal is failing, see the certbot log"
            fi
        else
            report https fail "the TLS listener does not answer https://$DOMAIN/healthz: $served"
        fi
    fi
fi

# Prometheus text format; written whole, then renamed, so a scrape never sees half a file.
{
    echo '# HELP socketship_proxy_health_check Result of each check of the proxy health check (1 ok, 0 failing).'
    echo '# TYPE socketship_proxy_health_check gauge'
    printf '%s' "$checks"
    echo '# HELP socketship_proxy_health_check_timestamp_seconds When the proxy health check last ran.'
    echo '# TYPE socketship_proxy_health_check_timestamp_seconds gauge'
    echo "socketship_proxy_health_check_timestamp_seconds $now"
    if [ -n "$expiry" ]; then
        echo '# HELP socketship_tls_certificate_expiry_timestamp_seconds When the certificate the proxy serves expires.'
        echo '# TYPE socketship_tls_certificate_expiry_timestamp_seconds gauge'
        echo "socketship_tls_certificate_expiry_timestamp_seconds{domain=\"$DOMAIN\"} $expiry"
        echo '# HELP socketship_tls_certificate_expiry_threshold_seconds CERT_EXPIRY_DAYS: the health check fails when less than this remains.'
        echo '# TYPE socketship_tls_certificate_expiry_threshold_seconds gauge'
        echo "socketship_tls_certificate_expiry_threshold_seconds{domain=\"$DOMAIN\"} $((days * 86400))"
    fi
} >"$metrics.tmp" && mv -f "$metrics.tmp" "$metrics"

exit "$failed"
