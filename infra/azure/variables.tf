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
  description = "Number of instances (workers) of the plan. Above 1, chat rooms span instances only once the Redis broker is configured."
  type        = number
  default     = 1

  validation {
    condition     = var.instance_count >= 1 && var.instance_count <= 30
    error_message = "instance_count must be between 1 and 30."
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
  description = "Further browser origins (e.g. a custom domain, https://chat.example.com) allowed besides the app's own https://<name>.azurewebsites.net."
  type        = list(string)
  default     = []
}

variable "log_retention_days" {
  description = "Log Analytics retention in days (30 is included in the ingestion price)."
  type        = number
  default     = 30
}
