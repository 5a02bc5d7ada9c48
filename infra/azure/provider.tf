# Terraform and provider versions. One definition serves both front doors:
#   - `azd up` (azure.yaml: infra.provider = terraform) fills the variables from
#     infra/main.tfvars.json with the azd environment's values;
#   - plain `terraform apply` users pass the same variables themselves (docs/azure.md).
#
# State: local by default (azd keeps it in .azure/<env>/infra/terraform.tfstate).
# The GitHub workflow adds a `backend "azurerm"` override at run time so CI runs
# share one remote state (see .github/workflows/azure-dev.yml and provider.conf.json).
terraform {
  required_version = ">= 1.9.0, < 2.0.0"

  required_providers {
    azurerm = {
      source = "hashicorp/azurerm"
      # 4.55 is the oldest 4.x whose schema the offline name check was built against
      # (test/infra/fixtures/azurerm-4-schema.json); `~>` keeps us on 4.x.
      version = "~> 4.55"
    }
  }
}

provider "azurerm" {
  # azurerm 4.x needs the subscription explicitly (or ARM_SUBSCRIPTION_ID).
  subscription_id = var.subscription_id

  features {
    resource_group {
      # `azd down` / `terraform destroy` removes the whole group even when Azure
      # created something inside it that Terraform does not track.
      prevent_deletion_if_contains_resources = false
    }
  }
}

data "azurerm_client_config" "current" {}
