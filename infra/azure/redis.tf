# Optional Azure Managed Redis: the broker that lets several instances share chat rooms,
# history and presence (docs/scaling.md). Created when there can be more than one instance
# (instance_count > 1, or autoscale) or when redis_enabled is true; otherwise nothing here
# exists and the app keeps its rooms in process. (Azure Cache for Redis, which this template
# used before, is being retired; Microsoft's replacement is Azure Managed Redis.)
#
# TLS only (client_protocol Encrypted, port 10000). Authentication (redis_auth):
#   - "entra" (default): Microsoft Entra ID with the app's user-assigned identity. The access
#     policy assignment below grants it the built-in "default" data policy; access keys stay
#     off, so there is no Redis secret anywhere. The app reads REDIS_AUTH=entra-id and
#     AZURE_CLIENT_ID, gets tokens for that identity (@azure/identity, refreshed before they
#     expire) and sends them as the password, with the identity's object id as the user.
#   - "key": access keys on; the whole rediss:// URL with the key is a Key Vault secret and
#     REDIS_URL a Key Vault reference (secrets.tf). For an app that cannot use Entra ID yet.
#
# Clustering (redis_clustering_policy): the broker runs Lua scripts and a multi-stream XREAD
# over many room keys, which a sharded database refuses (CROSSSLOT) unless the keys share a
# hash tag. "NoCluster" (the default) keeps one shard, so every command works as on a single
# Redis with nothing asked of the client; Microsoft offers it up to 25 GB (the validation
# below allows the SKUs up to size 20, 24 GB). Above that, "EnterpriseCluster" (one endpoint,
# a proxy in front of the shards) works because every key the broker uses shares the hash tag
# {socketship}; "OSSCluster" also needs the app's cluster client (REDIS_CLUSTER=true, set below).

variable "redis_enabled" {
  description = "Create an Azure Managed Redis and point the app at it (REDIS_URL) even with one instance. It is created anyway when instance_count > 1 or autoscale is on."
  type        = bool
  default     = false
}

variable "redis_sku_name" {
  description = "Azure Managed Redis SKU: Balanced_B0 (0.5 GB) is the smallest; Balanced_B1, _B3, _B5 ... and the ComputeOptimized_X / MemoryOptimized_M families trade vCPUs for memory."
  type        = string
  default     = "Balanced_B0"

  validation {
    condition     = can(regex("^(Balanced_B|ComputeOptimized_X|MemoryOptimized_M|FlashOptimized_A)[0-9]+$", var.redis_sku_name))
    error_message = "redis_sku_name must be an Azure Managed Redis SKU such as Balanced_B0 or MemoryOptimized_M10 (Enterprise_* SKUs are Redis Enterprise, not Managed Redis)."
  }
}

variable "redis_high_availability" {
  description = "A replica in another zone and the SLA; off halves the price but a node failure loses the history and stops chat until the node is back."
  type        = bool
  default     = true
}

variable "redis_clustering_policy" {
  description = "NoCluster (one shard: every command the broker uses works as is; up to 24 GB SKUs), EnterpriseCluster or OSSCluster (sharded: the broker's keys must share a hash tag). Changing it recreates the database."
  type        = string
  default     = "NoCluster"

  validation {
    condition     = contains(["NoCluster", "EnterpriseCluster", "OSSCluster"], var.redis_clustering_policy)
    error_message = "redis_clustering_policy must be NoCluster, EnterpriseCluster or OSSCluster."
  }

  validation {
    condition     = var.redis_clustering_policy != "NoCluster" || (!startswith(var.redis_sku_name, "FlashOptimized") && tonumber(regex("[0-9]+$", var.redis_sku_name)) <= 20)
    error_message = "NoCluster is offered only up to 25 GB: use a SKU of size 20 or less (e.g. Balanced_B20), or EnterpriseCluster with a hash-tagged broker."
  }
}

variable "redis_auth" {
  description = "How the app authenticates to Redis: entra (Microsoft Entra ID with the app's managed identity, no key anywhere) or key (access key, kept in Key Vault)."
  type        = string
  default     = "entra"

  validation {
    condition     = contains(["entra", "key"], var.redis_auth)
    error_message = "redis_auth must be entra or key."
  }
}

locals {
  redis_enabled      = var.redis_enabled || var.instance_count > 1 || var.autoscale_enabled
  redis_key_in_vault = local.redis_enabled && var.redis_auth == "key"

  redis_endpoint = local.redis_enabled ? "${azurerm_managed_redis.main[0].hostname}:${azurerm_managed_redis.main[0].default_database[0].port}" : ""

  # What the app reads (names and meaning in docs/azure.md, "Redis"). Without Redis: an
  # empty REDIS_URL, which the app reads as "rooms in this process".
  redis_settings = !local.redis_enabled ? tomap({ REDIS_URL = "" }) : merge(
    {
      REDIS_URL  = var.redis_auth == "key" ? "@Microsoft.KeyVault(SecretUri=${azurerm_key_vault_secret.redis_url[0].versionless_id})" : "rediss://${local.redis_endpoint}"
      REDIS_AUTH = var.redis_auth == "entra" ? "entra-id" : "password"
      # The app needs a cluster-aware client only with the OSS policy; NoCluster and
      # EnterpriseCluster present one endpoint (every key shares the {socketship} hash tag).
      REDIS_CLUSTER = var.redis_clustering_policy == "OSSCluster" ? "true" : "false"
    },
    # @azure/identity's ManagedIdentityCredential (and DefaultAzureCredential) pick the
    # user-assigned identity by this client id.
    var.redis_auth == "entra" ? { AZURE_CLIENT_ID = azurerm_user_assigned_identity.app.client_id } : {},
  )
}

resource "azurerm_managed_redis" "main" {
  count = local.redis_enabled ? 1 : 0

  name                      = "redis-${local.resource_token}"
  resource_group_name       = azurerm_resource_group.main.name
  location                  = azurerm_resource_group.main.location
  sku_name                  = var.redis_sku_name
  high_availability_enabled = var.redis_high_availability

  default_database {
    client_protocol                    = "Encrypted"
    clustering_policy                  = var.redis_clustering_policy
    access_keys_authentication_enabled = var.redis_auth == "key"
    # Stream entries must never be evicted to make room: a full cache refuses writes instead,
    # and the app tells the sender (1013) rather than losing an acknowledged message.
    eviction_policy = "NoEviction"
  }

  tags = local.tags
}

# Entra ID: the app's identity gets the built-in "default" data access policy.
resource "azurerm_managed_redis_access_policy_assignment" "app" {
  count = local.redis_enabled && var.redis_auth == "entra" ? 1 : 0

  managed_redis_id = azurerm_managed_redis.main[0].id
  object_id        = azurerm_user_assigned_identity.app.principal_id
}

# Key mode: the URL with the key, in Key Vault only.
resource "azurerm_key_vault_secret" "redis_url" {
  count = local.redis_key_in_vault ? 1 : 0

  name         = "redis-url"
  value        = "rediss://:${urlencode(azurerm_managed_redis.main[0].default_database[0].primary_access_key)}@${local.redis_endpoint}"
  key_vault_id = azurerm_key_vault.main[0].id
  content_type = "text/plain"
  tags         = local.tags

  depends_on = [time_sleep.key_vault_rbac]
}
