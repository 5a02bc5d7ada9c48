#!/bin/sh
# Refuses, by name, a secret that azd would write into main.tfvars.json as broken JSON.
#
# azd fills infra/azure/main.tfvars.json by substituting ${NAME} with the raw value, with no
# JSON escaping: a `"` ends the string early, a `\` starts an escape, and a control character
# (a newline pasted with the secret) is not allowed inside a JSON string. Terraform then fails
# on a parse error deep in `azd provision` that names neither the variable nor the cause, or
# reads a different secret than the one given. Run as azd's preprovision hook (azure.yaml)
# and by the deploy workflow before `azd provision`; both pass the values in the environment.
set -eu

status=0
for name in AUTH_JWT_SECRET API_KEY; do
  value="$(printenv "$name" || true)"
  [ -n "$value" ] || continue
  case "$value" in
    *'"'* | *'\'*)
      echo "$name: contains \" or \\, which azd writes unescaped into main.tfvars.json (broken JSON); choose a secret without them, e.g. openssl rand -base64 48" >&2
      status=1
      continue
      ;;
  esac
  # Byte counts of the raw value (printenv adds one newline) with and without control
  # characters; $(...) would drop trailing newlines, so the value is not read through it.
  raw=$(printenv "$name" | wc -c)
  clean=$(printenv "$name" | LC_ALL=C tr -d '[:cntrl:]' | wc -c)
  if [ "$((raw - 1))" -ne "$clean" ]; then
    echo "$name: contains a control character (a newline?), which azd writes unescaped into main.tfvars.json (broken JSON)" >&2
    status=1
  fi
done
exit "$status"
