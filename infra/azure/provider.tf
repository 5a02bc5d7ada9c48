# Terraform and provider versions. One definition serves both front doors:
#   - `azd up` (azure.yaml: infra.provider = terraform) fills the variables from
#     infra/main.tfvars.json with the azd environment's values;
#   - plain `terraform apply` users pass the same variables themselves (docs/azure.md).
#
# State: local by default; azd keeps it per environment, in .azure/<env>/infra/azure/.
# The GitHub workflow writes backend_override.tf (an azurerm backend block) at run time,
# so CI runs share one remote state (.github/workflows/azure-dev.yml, provider.conf.json).
#
# Never write the backend block's opening words (the word backend, a space, then "azurerm"
# in quotes) anywhere in a .tf file here, not even in a comment: azd decides between local
# and remote state by a plain text search for them in every .tf file (isRemoteBackendConfig
# in azd's terraform_provider.go). A match in a comment switches azd to remote mode with
# empty settings, and every azd environment on the machine then shares one state file, so
# `azd env new prod && azd up` plans to replace dev. test/infra/azd-state.test.ts guards it.
terraform {
  required_version = ">= 1.9.0, < 2.0.0"

  required_providers {
    azurerm = {
      source = "hashicorp/azurerm"
      # 4.60 added azurerm_managed_redis_access_policy_assignment (Entra ID access to
      # Azure Managed Redis). Names are checked offline against the 4.81.0 schema in
      # test/infra/fixtures/azurerm-4-schema.json; `~>` keeps us on 4.x.
      version = "~> 4.60"
    }
    # time_sleep: the wait for Key Vault's role assignment to take effect (secrets.tf).
    time = {
      source  = "hashicorp/time"
      version = "~> 0.13"
    }
  }
}

provider "azurerm" {
  # azurerm 4.x needs the subscription explicitly (or ARM_SUBSCRIPTION_ID).
  subscription_id = var.subscription_id

  features {
    key_vault {
      # `azd down` then `azd up` reuses the vault name: purge the soft-deleted vault on
      # destroy instead of failing on the name for 90 days.
      purge_soft_delete_on_destroy    = true
      recover_soft_deleted_key_vaults = true
    }
    resource_group {
      # `azd down` / `terraform destroy` removes the whole group even when Azure
      # created something inside it that Terraform does not track.
      prevent_deletion_if_contains_resources = false
    }
  }
}

data "azurerm_client_config" "current" {}
