#!/usr/bin/env bash
# Fails when a file under src/MODULE includes a module that STYLE.md's table
# does not allow MODULE to include (dependencies point downwards only).
set -u
src=${1:?usage: check_layering.sh SRC_DIR}
declare -A allowed=(
  [base]=""
  [net]="base"
  [http]="base"
  [config]="base http"
  [cache]="base net http config"
  [store]="base net cache"
  [upstream]="base net http config"
  [proxy]="base net http config cache upstream"
  [admin]="base net http config cache upstream"
  [app]="base net http config cache store upstream proxy admin app"
)
status=0
while IFS= read -r line; do
  file=${line%%:*}
  module=${file#"$src"/}; module=${module%%/*}
  included=$(sed -E 's/.*#include "([a-z_]+)\/.*/\1/' <<<"${line#*:}")
  [ "$included" = "$module" ] && continue
  if [[ " ${allowed[$module]:-} " != *" $included "* ]]; then
    echo "layering violation: $file includes \"$included/...\" (module $module may include: ${allowed[$module]:-nothing})"
    status=1
  fi
done < <(grep -rE '^#include "[a-z_]+/' "$src" --include='*.h' --include='*.cc')
[ $status -eq 0 ] && echo "layering ok"
exit $status
