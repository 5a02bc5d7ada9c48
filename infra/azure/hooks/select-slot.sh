#!/bin/sh
# Tells `azd deploy` where to deploy: the staging slot when it exists, else production.
#
# Since azd 1.24 a site with deployment slots needs the target named: without
# AZD_DEPLOY_APP_SLOT_NAME, `azd deploy --no-prompt` stops with "deployment slots detected but
# no target specified" (service_target_appservice.go), and an interactive deploy asks. The
# staging slot exists exactly when the STAGING_URL output is set (outputs.tf). Run as azd's
# postprovision hook (azure.yaml), so `azd up` and the deploy workflow's `azd provision`
# both choose; the workflow then swaps the slot into production (docs/azure.md).
set -eu

AZD="${AZD:-azd}"
staging="$("$AZD" env get-value STAGING_URL 2>/dev/null || true)"
if [ -n "$staging" ]; then
  target=staging
else
  # Named, not left unset: a value left from a slot that was since removed would make azd
  # stop with "slot 'staging' not found".
  target=production
fi
"$AZD" env set AZD_DEPLOY_APP_SLOT_NAME "$target"
echo "azd deploy target: $target"
