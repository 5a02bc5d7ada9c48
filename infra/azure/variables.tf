# Inputs. The first three come from azd (infra/main.tfvars.json); plain Terraform
# users pass them with -var or a *.tfvars file. Everything else has a default.

variable "environment_name" {
  description = "Name of the environment (azd: AZURE_ENV_NAME). Used in resource names and the azd-env-name tag."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9-]{1,40}$", var.environment_name))
    error_message = "environment_name must be 1-40 letters, digits or hyphens."
  }
}

variable "location" {
  description = "Azure region for every resource (azd: AZURE_LOCATION), e.g. westeurope."
  type        = string
}

variable "subscription_id" {
  description = "Subscription to deploy into (azd: AZURE_SUBSCRIPTION_ID)."
  type        = string
}

variable "alert_email" {
  description = "E-mail address that receives the alerts. Empty: the action group has no receiver (alerts still fire and show in the portal)."
  type        = string
  default     = ""
}

variable "app_service_plan_sku" {
  description = "App Service plan SKU. Basic B1 allows 350 concurrent WebSockets per instance; Standard/Premium have no per-instance WebSocket cap. Free/Shared are refused: 5 WebSockets, no Always On."
  type        = string
  default     = "B1"

  validation {
    condition     = !contains(["F1", "FREE", "D1", "SHARED"], upper(var.app_service_plan_sku))
    error_message = "Free (F1) and Shared (D1) plans allow only a handful of WebSockets and no Always On; use B1 or larger."
  }
}

variable "instance_count" {
  description = "Number of instances (workers) of the plan; with autoscale, the minimum. Above 1, Redis is created so that rooms span instances."
  type        = number
  default     = 1

  validation {
    # The plan's own ceiling per tier: Basic 3, Standard 10, Premium 30.
    condition     = var.instance_count >= 1 && var.instance_count <= (startswith(upper(var.app_service_plan_sku), "B") ? 3 : startswith(upper(var.app_service_plan_sku), "S") ? 10 : 30)
    error_message = "instance_count must be 1-3 on Basic, 1-10 on Standard, 1-30 on Premium."
  }
}

variable "app_image" {
  description = "Image (repository:tag) in this deployment's registry that the app runs until `azd deploy` (or your push) replaces it. Terraform ignores later changes to it, so a deploy is never rolled back by `terraform apply`."
  type        = string
  default     = "socketship:latest"
}

variable "log_level" {
  description = "LOG_LEVEL of the service (pino level: trace, debug, info, warn, error, fatal)."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["trace", "debug", "info", "warn", "error", "fatal", "silent"], var.log_level)
    error_message = "log_level must be a pino level."
  }
}

variable "ping_interval_ms" {
  description = "PING_INTERVAL_MS: how often the server pings each socket. Also keeps idle sockets alive through the App Service front end."
  type        = number
  default     = 1000
}

variable "pong_timeout_ms" {
  description = "PONG_TIMEOUT_MS: a socket that has not answered a ping for this long is closed."
  type        = number
  default     = 10000
}

variable "max_connections" {
  description = "MAX_CONNECTIONS per instance. 0 = derive from the plan: 350 on Basic (its WebSocket limit per instance), else the app's default 10000."
  type        = number
  default     = 0
}

variable "extra_allowed_origins" {
  description = "Further browser origins allowed besides the app's own https://<name>.azurewebsites.net (and the custom domain and staging slot, which are added automatically)."
  type        = list(string)
  default     = []
}

variable "log_retention_days" {
  description = "Log Analytics retention in days (30 is included in the ingestion price)."
  type        = number
  default     = 30
}

# ---------------------------------------------------------------------------
# Deploys, scale, telemetry, domain, secrets (docs/azure.md says what each costs)
# ---------------------------------------------------------------------------

variable "shutdown_timeout_ms" {
  description = "SHUTDOWN_TIMEOUT_MS: how long the service drains open sockets (closing each with 1001) after SIGTERM. App Service waits WEBSITES_CONTAINER_STOP_TIME_LIMIT, derived from this with a margin, before it kills the container."
  type        = number
  default     = 10000

  validation {
    condition     = var.shutdown_timeout_ms >= 1000 && var.shutdown_timeout_ms <= 100000
    error_message = "shutdown_timeout_ms must be 1000-100000 (App Service's stop time limit is counted in seconds and bounded; see docs/azure.md)."
  }
}

variable "staging_slot_enabled" {
  description = "Create a `staging` deployment slot (Standard S1 and up). azd then deploys to the slot and the workflow swaps it into production after it passes the smoke check, so a deploy never restarts production."
  type        = bool
  default     = false

  validation {
    condition     = !(var.staging_slot_enabled && startswith(upper(var.app_service_plan_sku), "B"))
    error_message = "Deployment slots need Standard (S1) or above; Basic plans have none."
  }
}

variable "autoscale_enabled" {
  description = "Scale out and in on CPU and on open WebSockets per instance (Standard S1 and up). Implies Redis, since rooms then span instances."
  type        = bool
  default     = false

  validation {
    condition     = !(var.autoscale_enabled && startswith(upper(var.app_service_plan_sku), "B"))
    error_message = "Autoscale needs Standard (S1) or above."
  }
}

variable "autoscale_max_instances" {
  description = "Upper bound for autoscale (the lower bound is instance_count)."
  type        = number
  default     = 5

  validation {
    condition     = var.autoscale_max_instances >= 2 && var.autoscale_max_instances <= (startswith(upper(var.app_service_plan_sku), "S") ? 10 : 30)
    error_message = "autoscale_max_instances must be 2-10 on Standard, 2-30 on Premium."
  }
}

variable "autoscale_on_connections" {
  description = "Add the autoscale rules on open WebSockets (ws_connections_open from Application Insights). Leave false on the first `azd up`: Azure may refuse a rule on a custom metric that no container has reported yet. Set true once the metric shows (docs/azure.md \"Autoscale\")."
  type        = bool
  default     = false
}

variable "autoscale_connections_per_instance" {
  description = "With autoscale_on_connections: scale out when the busiest instance holds more open WebSockets than this (ws_connections_open, the maximum reported per minute, over 5 minutes); scale in when it holds fewer than a third of it."
  type        = number
  default     = 5000
}

variable "availability_test_locations" {
  description = "Application Insights availability test locations probing /healthz and /readyz from outside (at least 5 is Microsoft's recommendation; the alert fires when 2 fail)."
  type        = list(string)
  default     = ["emea-nl-ams-azr", "emea-gb-db3-azr", "us-va-ash-azr", "us-ca-sjc-azr", "apac-sg-sin-azr"]

  validation {
    condition     = length(var.availability_test_locations) >= 3
    error_message = "Use at least 3 availability test locations, so one bad probe region cannot page you."
  }
}

variable "availability_test_frequency" {
  description = "Seconds between availability test runs from each location: 300, 600 or 900. Standard tests are billed per run (tests x locations x runs; docs/azure.md)."
  type        = number
  default     = 900

  validation {
    condition     = contains([300, 600, 900], var.availability_test_frequency)
    error_message = "availability_test_frequency must be 300, 600 or 900."
  }
}

variable "reconnect_storm_threshold" {
  description = "Alert when more WebSockets than this open in 5 minutes (a reconnect storm: a deploy without a slot, an instance lost, a client bug). 0 turns the log alert off."
  type        = number
  default     = 2000
}

variable "custom_domain" {
  description = "Optional host name (e.g. chat.example.com) bound to the app with a free App Service managed certificate. Create its CNAME to the app's default host name and the asuid TXT record (output CUSTOM_DOMAIN_VERIFICATION_ID) first; docs/azure.md."
  type        = string
  default     = ""

  validation {
    condition     = var.custom_domain == "" || can(regex("^([a-z0-9]([a-z0-9-]*[a-z0-9])?\\.)+[a-z]{2,}$", var.custom_domain))
    error_message = "custom_domain must be a lower-case host name such as chat.example.com."
  }
}

variable "auth_jwt_secret" {
  description = "AUTH_JWT_SECRET for HS256 client tokens (at least 32 bytes). Set: stored in Key Vault and given to the app as a Key Vault reference, never as a plain app setting."
  type        = string
  default     = ""
  sensitive   = true

  validation {
    condition     = var.auth_jwt_secret == "" || length(var.auth_jwt_secret) >= 32
    error_message = "auth_jwt_secret must be at least 32 characters (the app refuses shorter secrets)."
  }
}

variable "key_vault_rbac_wait" {
  description = "How long to wait after the Key Vault role grants before writing secrets and starting the app (Azure RBAC propagation; secrets.tf). A Terraform duration such as 90s or 3m."
  type        = string
  default     = "90s"

  validation {
    condition     = can(regex("^[0-9]+(s|m)$", var.key_vault_rbac_wait))
    error_message = "key_vault_rbac_wait must be a duration in seconds or minutes, such as 90s or 3m."
  }
}

variable "api_key" {
  description = "API_KEY enabling the server API. Set: stored in Key Vault and given to the app as a Key Vault reference."
  type        = string
  default     = ""
  sensitive   = true
}
