# The app settings of the site and of its staging slot, in one place. Every name here is an
# environment variable the container reads (README "Configuration"); test/infra/ parses this
# file and feeds the values through the app's own config parser.

locals {
  # The host names the service answers to: its own, the staging slot's (so the slot can be
  # smoke-tested before a swap) and the custom domain. Browsers may open /ws only from these
  # origins (plus extra_allowed_origins); any other Host header is refused (ALLOWED_HOSTS).
  slot_host   = "${local.app_name}-staging.azurewebsites.net"
  app_hosts   = compact([local.app_host, var.staging_slot_enabled ? local.slot_host : "", var.custom_domain])
  app_origins = concat([for host in local.app_hosts : "https://${host}"], var.extra_allowed_origins)

  # App Service sends SIGTERM, then kills the container WEBSITES_CONTAINER_STOP_TIME_LIMIT
  # seconds later (5 s when unset). The service drains for up to SHUTDOWN_TIMEOUT_MS, then
  # flushes telemetry (at most 5 s) and exits: the limit covers both with 5 s to spare, so a
  # deploy, restart or scale-in closes every socket with 1001, never 1006.
  container_stop_seconds = ceil(var.shutdown_timeout_ms / 1000) + 10

  # The settings every deployment has (a plain object, so test/infra/ reads each value).
  base_settings = {
    # The port the container listens on (the app's default PORT).
    WEBSITES_PORT = "8080"
    # The container needs no persistent /home share.
    WEBSITES_ENABLE_APP_SERVICE_STORAGE = "false"
    # App Service terminates TLS and sets X-Forwarded-For / -Proto.
    TRUST_PROXY      = "true"
    ALLOWED_ORIGINS  = join(",", local.app_origins)
    ALLOWED_HOSTS    = join(",", local.app_hosts)
    LOG_LEVEL        = var.log_level
    PING_INTERVAL_MS = tostring(var.ping_interval_ms)
    PONG_TIMEOUT_MS  = tostring(var.pong_timeout_ms)
    MAX_CONNECTIONS  = tostring(local.max_connections)

    SHUTDOWN_TIMEOUT_MS                = tostring(var.shutdown_timeout_ms)
    WEBSITES_CONTAINER_STOP_TIME_LIMIT = tostring(local.container_stop_seconds)
    # A new container (start, restart, scale-out, swap) gets traffic only once /readyz
    # answers 200, i.e. once its broker is connected; the same for the swap's warm-up.
    WEBSITE_WARMUP_PATH               = "/readyz"
    WEBSITE_WARMUP_STATUSES           = "200"
    WEBSITE_SWAP_WARMUP_PING_PATH     = "/readyz"
    WEBSITE_SWAP_WARMUP_PING_STATUSES = "200"

    # Telemetry (src/telemetry/): requests, Redis dependencies, logs and the service's
    # metrics to the workspace-based Application Insights in monitoring.tf.
    APPLICATIONINSIGHTS_CONNECTION_STRING = azurerm_application_insights.main.connection_string
  }

  # Plus REDIS_URL ("" without Redis) and, with Redis, how the app authenticates (redis.tf),
  # and AUTH_JWT_SECRET / API_KEY as Key Vault references, only when set (secrets.tf).
  app_settings = merge(local.base_settings, local.redis_settings, local.secret_settings)
  # Nothing the provider manages itself belongs here: no DOCKER_REGISTRY_* (set from
  # application_stack) and no WEBSITE_HEALTHCHECK_MAXPINGFAILURES (set from
  # health_check_eviction_time_in_min).
}
