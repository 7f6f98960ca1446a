#!/usr/bin/env bash
# deploy/install.sh — install, or upgrade in place, a Séance production node on Debian 12.
#
#   sudo deploy/install.sh                       # asks for what it needs
#   sudo deploy/install.sh --hostname seance.cc-exemple.fr --council "Communauté de communes …" \
#        --email dsi@cc-exemple.fr --yes         # certbot; or --cert FILE --key FILE
#
# What it does, in order (docs/operations.md, "Installing"): the Debian packages that are
# missing; the `seance` system user; /etc/seance, /var/lib/seance and their modes; this
# source tree's release, installed with constraints.txt into a venv of its own,
# /opt/seance/releases/<version>-<time>, and /opt/seance/current pointing to it;
# /etc/seance/seance.toml and the TURN secret; the systemd units (Séance, the daily purge
# of recordings, Redis with --redis); nginx (deploy/nginx/, with certbot or the given
# certificate); coturn; the first administrator, whose password it prints; then, when
# systemd runs, it enables and starts everything.
#
# Run again (with a newer source tree, or none of the options: they are remembered in
# /etc/seance/install.env) it upgrades in place: data, seance.toml, keys, accounts and the
# TURN secret are kept; a backup of the data dir is taken first (seance backup, into
# /var/backups/seance); the new release is installed beside the old one and
# /opt/seance/current switched; the two previous releases are kept for a rollback
# (ln -sfn /opt/seance/releases/<old> /opt/seance/current && systemctl restart seance).
#
# Without internet on the server: on a machine that has it, `deploy/install.sh
# --download-wheels DIR` fetches every package (constraints.txt, for Debian 12's Python),
# then on the server `deploy/install.sh --wheels DIR`.
#
# Where systemd is not PID 1 (a container, the test of tests/deploy/test_install.py) it
# does everything but start the units, and says so.

set -euo pipefail
umask 022

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SOURCE=$(cd "$SCRIPT_DIR/.." && pwd)

ETC=/etc/seance
DATA=/var/lib/seance
OPT=/opt/seance
BACKUPS=/var/backups/seance
SERVICE_USER=seance
ANSWERS=$ETC/install.env
PYTHON=/usr/bin/python3   # Debian 12's: the wheels of constraints.txt are for it

HOSTNAME_=""
COUNCIL=""
TURN_SECRET=""
EMAIL=""
CERT=""
KEY=""
ICE_ADDRESS=""
TURN_ADDRESS=""
TURN_HOSTNAME=""
WORKERS=""
REDIS=""
ADMIN=""
WHEELS=""
BACKUP=1
ASSUME_YES=0
DOWNLOAD=""

say() { printf '%s\n' "$*"; }
step() { printf '\n== %s\n' "$*"; }
die() { printf 'install.sh : %s\n' "$*" >&2; exit 1; }

usage() {
    sed -n '2,27p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    cat <<'EOF'
Options:
  --hostname NAME       the name browsers use (DNS A record to this server)
  --council "NAME"      the council's name (the first administrator's label; the council
                        itself, its members and salles are entered in /admin)
  --turn-secret SECRET  coturn's shared secret (default: kept, or generated)
  --email ADDRESS       for Let's Encrypt (certbot), unless --cert/--key
  --cert FILE --key FILE   a certificate of the council's (full chain, PEM) instead of certbot
  --ice-address IP      the address kiosks reach for media (default: the default route's)
  --turn-address IP     a second address for coturn, to offer TURN over TLS on 443
  --turn-hostname NAME  its name (default: turn.<hostname>; needs --turn-cert/--turn-key or certbot)
  --turn-cert FILE --turn-key FILE
  --workers N           worker processes (default 1; each adds an nginx port, docs/operations.md)
  --redis               Redis on this machine, for several nodes (redis-seance.service)
  --admin LOGIN         the first administrator's login (default: dsi)
  --source DIR          the Séance source tree to install (default: the one holding this script)
  --wheels DIR          install offline from DIR (made by --download-wheels)
  --no-backup           do not back the data dir up before an upgrade
  --yes                 never ask: a missing answer is an error
  --download-wheels DIR fetch every package into DIR (on a machine with internet) and exit
EOF
}

while [ $# -gt 0 ]; do
    case "$1" in
        --hostname) HOSTNAME_=$2; shift 2 ;;
        --council) COUNCIL=$2; shift 2 ;;
        --turn-secret) TURN_SECRET=$2; shift 2 ;;
        --email) EMAIL=$2; shift 2 ;;
        --cert) CERT=$2; shift 2 ;;
        --key) KEY=$2; shift 2 ;;
        --ice-address) ICE_ADDRESS=$2; shift 2 ;;
        --turn-address) TURN_ADDRESS=$2; shift 2 ;;
        --turn-hostname) TURN_HOSTNAME=$2; shift 2 ;;
        --turn-cert) TURN_CERT=$2; shift 2 ;;
        --turn-key) TURN_KEY=$2; shift 2 ;;
        --workers) WORKERS=$2; shift 2 ;;
        --redis) REDIS=1; shift ;;
        --admin) ADMIN=$2; shift 2 ;;
        --source) SOURCE=$(cd "$2" && pwd); shift 2 ;;
        --wheels) WHEELS=$(cd "$2" && pwd); shift 2 ;;
        --no-backup) BACKUP=0; shift ;;
        --yes|-y) ASSUME_YES=1; shift ;;
        --download-wheels) DOWNLOAD=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) die "option inconnue : $1 (--help)" ;;
    esac
done
TURN_CERT=${TURN_CERT:-}
TURN_KEY=${TURN_KEY:-}

[ -f "$SOURCE/constraints.txt" ] && [ -f "$SOURCE/web/version.py" ] \
    || die "$SOURCE n'est pas une arborescence de Séance (constraints.txt, web/version.py)"
VERSION=$(sed -n 's/^VERSION = "\(.*\)"$/\1/p' "$SOURCE/web/version.py")
[ -n "$VERSION" ] || die "version introuvable dans $SOURCE/web/version.py"

# --------------------------------------------------------------------------- wheels

if [ -n "$DOWNLOAD" ]; then
    mkdir -p "$DOWNLOAD"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    "$PYTHON" -m venv "$tmp/venv"
    # every runtime package at its pinned version (the whole closure is in constraints.txt),
    # then what builds Séance itself (pyproject.toml's build-system), with its dependencies
    "$tmp/venv/bin/pip" download --quiet --only-binary=:all: --no-deps -d "$DOWNLOAD" \
        -r <(grep -v '^#' "$SOURCE/constraints.txt")
    "$tmp/venv/bin/pip" download --quiet --only-binary=:all: -d "$DOWNLOAD" "setuptools>=77" wheel
    say "paquets de Séance $VERSION dans $DOWNLOAD ($(ls "$DOWNLOAD" | wc -l) fichiers) :"
    say "  copiez-le sur le serveur, puis : deploy/install.sh --wheels $DOWNLOAD"
    exit 0
fi

[ "$(id -u)" = 0 ] || die "à lancer en root (sudo)"

# --------------------------------------------------------------------------- answers

# shellcheck disable=SC1090
[ -f "$ANSWERS" ] && . "$ANSWERS"   # the previous run's answers: defaults of this one
HOSTNAME_=${HOSTNAME_:-${SEANCE_HOSTNAME:-}}
COUNCIL=${COUNCIL:-${SEANCE_COUNCIL:-}}
EMAIL=${EMAIL:-${SEANCE_EMAIL:-}}
CERT=${CERT:-${SEANCE_CERT:-}}
KEY=${KEY:-${SEANCE_KEY:-}}
ICE_ADDRESS=${ICE_ADDRESS:-${SEANCE_ICE_ADDRESS:-}}
TURN_ADDRESS=${TURN_ADDRESS:-${SEANCE_TURN_ADDRESS:-}}
TURN_HOSTNAME=${TURN_HOSTNAME:-${SEANCE_TURN_HOSTNAME:-}}
WORKERS=${WORKERS:-${SEANCE_WORKERS:-1}}
REDIS=${REDIS:-${SEANCE_REDIS:-}}
ADMIN=${ADMIN:-${SEANCE_ADMIN:-dsi}}
UPGRADE=0
[ -f "$ETC/seance.toml" ] && UPGRADE=1

ask() {  # ask VAR "question" [default]
    local var=$1 question=$2 default=${3:-} answer
    if [ -n "${!var}" ]; then return; fi
    if [ "$ASSUME_YES" = 1 ] || [ ! -t 0 ]; then
        [ -n "$default" ] || die "réponse manquante : $question (option en ligne de commande, --help)"
        printf -v "$var" '%s' "$default"
        return
    fi
    read -r -p "$question${default:+ [$default]} : " answer
    printf -v "$var" '%s' "${answer:-$default}"
    [ -n "${!var}" ] || die "réponse manquante : $question"
}

default_address() { ip -o route get 192.0.2.1 2>/dev/null | sed -n 's/.* src \([^ ]*\).*/\1/p'; }

ask HOSTNAME_ "Nom du serveur (DNS) que les navigateurs utiliseront, ex. seance.cc-exemple.fr"
ask COUNCIL "Nom du conseil (EPCI)"
ask ICE_ADDRESS "Adresse IP que les bornes des salles joignent pour le son et l'image" "$(default_address)"
if [ -z "$CERT" ] || { [ -n "$TURN_ADDRESS" ] && [ -z "$TURN_CERT" ]; }; then
    ask EMAIL "Adresse électronique pour Let's Encrypt (ou relancez avec --cert/--key)"
fi
if [ -z "$TURN_SECRET" ] && [ ! -s "$ETC/turn-secret" ] && [ "$ASSUME_YES" = 0 ] && [ -t 0 ]; then
    read -r -p "Secret partagé avec coturn (vide : en créer un) : " TURN_SECRET
fi
[[ "$WORKERS" =~ ^[1-9][0-9]?$ ]] || die "--workers : un nombre entre 1 et 64"
[[ "$HOSTNAME_" =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]] || die "--hostname : nom DNS invalide « $HOSTNAME_ »"
if [ -n "$CERT$KEY" ]; then
    [ -f "$CERT" ] && [ -f "$KEY" ] || die "--cert et --key : fichiers PEM lisibles attendus"
fi
if [ -n "$TURN_ADDRESS" ]; then
    TURN_HOSTNAME=${TURN_HOSTNAME:-turn.$HOSTNAME_}
fi
if [ "$WORKERS" -gt 1 ] && [ "$ICE_ADDRESS" = 127.0.0.1 ]; then
    # nginx serves worker i on <address>:8080+i, the port Séance's worker i has on 127.0.0.1
    die "--workers $WORKERS : l'adresse publique ne peut pas être 127.0.0.1 (nginx et Séance y prendraient les mêmes ports)"
fi
STAMP=$(date -u +%Y%m%dT%H%M%SZ)

# --------------------------------------------------------------------------- packages

step "Paquets Debian"
if ! grep -q '^VERSION_ID="12"' /etc/os-release 2>/dev/null; then
    say "attention : Debian 12 attendu ($(. /etc/os-release; echo "${PRETTY_NAME:-inconnu}")) : on continue"
fi
missing=()
installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }
# libpango-1.0-0, libpangoft2-1.0-0, fonts-dejavu-core: WeasyPrint (the signed procès-verbal, PDF/A)
for pkg in python3-venv coturn openssl curl libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core; do
    installed "$pkg" || missing+=("$pkg")
done
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
if [ -z "$CERT" ] || { [ -n "$TURN_ADDRESS" ] && [ -z "$TURN_CERT" ]; }; then
    installed certbot || missing+=(certbot)
fi
[ -n "$REDIS" ] && { installed redis-server || missing+=(redis-server); }
if [ ${#missing[@]} -gt 0 ]; then
    say "installation de : ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
else
    say "déjà installés"
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

# --------------------------------------------------------------------------- user and folders

step "Utilisateur $SERVICE_USER et répertoires"
if ! getent passwd "$SERVICE_USER" >/dev/null; then
    useradd --system --user-group --home-dir "$DATA" --no-create-home --shell /usr/sbin/nologin \
        --comment "Séance" "$SERVICE_USER"
    say "utilisateur $SERVICE_USER créé"
fi
install -d -m 0750 -o root -g "$SERVICE_USER" "$ETC"
install -d -m 0750 -o root -g "$SERVICE_USER" "$ETC/tls"
install -d -m 0750 -o "$SERVICE_USER" -g "$SERVICE_USER" "$DATA"
install -d -m 0755 -o root -g root "$OPT" "$OPT/releases" /var/www/letsencrypt
install -d -m 0700 -o root -g root "$BACKUPS"
say "$ETC (0750 root:$SERVICE_USER), $DATA (0750 $SERVICE_USER), $OPT, $BACKUPS (0700)"

# --------------------------------------------------------------------------- the release

step "Séance $VERSION"
RELEASE=$OPT/releases/$VERSION-$STAMP
[ -e "$RELEASE" ] && RELEASE=$RELEASE-$$
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
# built from a copy: nothing written into the source tree, nothing of its own venv taken
tar -C "$SOURCE" --exclude=./.git --exclude='./.venv*' --exclude=./node_modules --exclude=./var \
    --exclude='*.egg-info' --exclude=./build --exclude=./test-output -cf - . | tar -C "$build" -xf -
"$PYTHON" -m venv "$RELEASE"
pip_args=(--quiet --disable-pip-version-check -c "$build/constraints.txt")
[ -n "$WHEELS" ] && pip_args+=(--no-index --find-links "$WHEELS")
"$RELEASE/bin/pip" install "${pip_args[@]}" "$build"
install -d "$RELEASE/share"
cp -r "$build/deploy" "$build/docs" "$build/README.md" "$build/CHANGELOG.md" "$build/constraints.txt" "$RELEASE/share/"
# the release is code the service user runs: readable by all, written by root only, whatever
# the modes of the source tree or the umask the copy and pip inherited (a root umask of 027,
# as hardening guides advise, left bin/seance unreadable by the seance user)
chmod -R u+rwX,go+rX,go-w "$RELEASE"
got=$("$RELEASE/bin/seance" --version)
say "$got"
say "dans $RELEASE"
SHARE=$RELEASE/share/deploy

# --------------------------------------------------------------------------- secrets

step "Secrets"
if [ -n "$TURN_SECRET" ] || [ ! -s "$ETC/turn-secret" ]; then
    TURN_SECRET=${TURN_SECRET:-$(openssl rand -hex 32)}
    (umask 027; printf '%s\n' "$TURN_SECRET" > "$ETC/turn-secret")
    say "secret TURN écrit dans $ETC/turn-secret"
else
    say "secret TURN gardé ($ETC/turn-secret)"
fi
chown root:"$SERVICE_USER" "$ETC/turn-secret"; chmod 0640 "$ETC/turn-secret"
TURN_SECRET=$(cat "$ETC/turn-secret")
REDIS_URL=""
if [ -n "$REDIS" ]; then
    [ -s "$ETC/redis-password" ] || (umask 077; openssl rand -hex 32 > "$ETC/redis-password")
    chmod 0600 "$ETC/redis-password"
    REDIS_URL="redis://:$(cat "$ETC/redis-password")@127.0.0.1:6379/0"
fi

# --------------------------------------------------------------------------- certificate

step "Certificat"
LE_CERT=/etc/letsencrypt/live/$HOSTNAME_/fullchain.pem
LE_KEY=/etc/letsencrypt/live/$HOSTNAME_/privkey.pem
CERTBOT=0
if [ -n "$CERT" ]; then
    install -m 0644 -o root -g root "$CERT" "$ETC/tls/fullchain.pem"
    install -m 0640 -o root -g "$SERVICE_USER" "$KEY" "$ETC/tls/privkey.pem"
    WEB_CERT=$ETC/tls/fullchain.pem; WEB_KEY=$ETC/tls/privkey.pem
    say "certificat fourni, copié dans $ETC/tls/"
elif [ -f "$LE_CERT" ]; then
    WEB_CERT=$LE_CERT; WEB_KEY=$LE_KEY
    say "certificat Let's Encrypt existant : $LE_CERT"
else
    # nginx must serve port 80 for certbot's challenge, and cannot start without a
    # certificate: a self-signed one until certbot has run (below)
    CERTBOT=1
    WEB_CERT=$ETC/tls/bootstrap-fullchain.pem; WEB_KEY=$ETC/tls/bootstrap-privkey.pem
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 7 \
        -subj "/CN=$HOSTNAME_" -keyout "$WEB_KEY" -out "$WEB_CERT" 2>/dev/null
    chmod 0600 "$WEB_KEY"
    say "certificat provisoire (auto-signé) en attendant certbot"
fi

# --------------------------------------------------------------------------- seance.toml

step "Configuration $ETC/seance.toml"
TURN_TLS_HOST=$HOSTNAME_; TURN_TLS_PORT=5349
if [ -n "$TURN_ADDRESS" ]; then TURN_TLS_HOST=$TURN_HOSTNAME; TURN_TLS_PORT=443; fi
if [ "$UPGRADE" = 1 ]; then
    say "gardée telle quelle (mise à jour) ; nouvelles clés éventuelles : $RELEASE/share/CHANGELOG.md"
    if ! grep -q "^workers = $WORKERS\b" "$ETC/seance.toml"; then
        say "attention : --workers $WORKERS, mais seance.toml a une autre valeur (server.workers) : nginx est"
        say "  écrit pour $WORKERS processus ; mettez la même valeur dans seance.toml (et node_url, docs/operations.md)"
    fi
else
    node_lines=""
    if [ "$WORKERS" -gt 1 ]; then
        node_lines="node_url = \"https://$HOSTNAME_:{port}\"   # each worker's public URL (deploy/nginx/seance-workers.conf)"
    elif [ -n "$REDIS" ]; then
        node_lines="node_url = \"https://$HOSTNAME_\"   # this node's public URL, for the other nodes' redirects"
    fi
    redis_line=""
    [ -n "$REDIS_URL" ] && redis_line="redis = \"$REDIS_URL\""
    (umask 027; cat > "$ETC/seance.toml" <<EOF
# $ETC/seance.toml — written by deploy/install.sh on $(date -u +%F) for « $COUNCIL ».
# Every key is explained in $OPT/current/share/deploy/seance.toml; after an edit:
#   $OPT/current/bin/seance serve --check --config $ETC/seance.toml && systemctl restart seance

[server]
host = "127.0.0.1"
port = 8080
data_dir = "$DATA"
workers = $WORKERS
${node_lines}
${redis_line}

[proxy]
trusted = ["127.0.0.1", "::1"]
certificate = "$( [ "$CERTBOT" = 1 ] && echo "$LE_CERT" || echo "$WEB_CERT" )"

[ice]
listen_addresses = ["$ICE_ADDRESS"]

[turn]
urls = [
  "turn:$HOSTNAME_:3478?transport=udp",
  "turn:$HOSTNAME_:3478?transport=tcp",
  "turns:$TURN_TLS_HOST:$TURN_TLS_PORT?transport=tcp",
]
shared_secret_file = "$ETC/turn-secret"

[privacy]
# Shown on /confidentialite: write the DPO's name and address here.
# dpo_contact = "Délégué à la protection des données, …"
log_ip_retention_days = 30
EOF
    )
    say "écrite"
fi
chown root:"$SERVICE_USER" "$ETC/seance.toml"; chmod 0640 "$ETC/seance.toml"
"$RELEASE/bin/seance" serve --check --config "$ETC/seance.toml"

# --------------------------------------------------------------------------- nginx

step "nginx"
template() {  # template FILE: the shipped file with this server's names and addresses
    local args=(-e "s|seance\\.example\\.fr|$HOSTNAME_|g" -e "s|203\\.0\\.113\\.10|$ICE_ADDRESS|g"
        -e "s|/etc/letsencrypt/live/$HOSTNAME_/fullchain.pem|$WEB_CERT|"
        -e "s|/etc/letsencrypt/live/$HOSTNAME_/privkey.pem|$WEB_KEY|")
    [ -e /proc/net/if_inet6 ] || args+=(-e '/listen \[::\]/d')   # a kernel without IPv6
    sed "${args[@]}" "$1"
}
install -d /etc/nginx/conf.d /etc/nginx/snippets /etc/nginx/sites-available /etc/nginx/sites-enabled
template "$SHARE/nginx/seance-http.conf" > /etc/nginx/conf.d/seance.conf
template "$SHARE/nginx/seance-proxy.conf" > /etc/nginx/snippets/seance-proxy.conf
template "$SHARE/nginx/seance.conf" > /etc/nginx/sites-available/seance.conf
ln -sfn ../sites-available/seance.conf /etc/nginx/sites-enabled/seance.conf
if [ "$WORKERS" -gt 1 ]; then
    workers_conf=$(template "$SHARE/nginx/seance-workers.conf")
    {
        printf '%s\n' "$workers_conf" | sed '/^# >>> worker 1$/,$d'
        for i in $(seq 1 $((WORKERS - 1))); do
            printf '%s\n' "$workers_conf" | sed -n '/^# >>> worker 1$/,/^# <<< worker 1$/p' \
                | sed -e "s/8081/$((8080 + i))/g" -e "s/seance_w1/seance_w$i/g" -e "s/worker 1$/worker $i/"
        done
        printf '%s\n' "$workers_conf" | sed '1,/^# <<< worker 1$/d'
    } > /etc/nginx/sites-available/seance-workers.conf
    ln -sfn ../sites-available/seance-workers.conf /etc/nginx/sites-enabled/seance-workers.conf
else
    rm -f /etc/nginx/sites-enabled/seance-workers.conf /etc/nginx/sites-available/seance-workers.conf
fi
# Debian's default site also listens on port 80
[ -L /etc/nginx/sites-enabled/default ] && rm /etc/nginx/sites-enabled/default
"$NGINX" -t -q
say "site $HOSTNAME_ : /etc/nginx/sites-available/seance.conf, conf.d/seance.conf, snippets/seance-proxy.conf"

# --------------------------------------------------------------------------- coturn

step "coturn"
TURN_LISTEN=${TURN_ADDRESS:-$ICE_ADDRESS}
install -d -m 0750 -o root -g turnserver /etc/coturn/tls 2>/dev/null || install -d -m 0750 /etc/coturn/tls
if [ -z "$TURN_ADDRESS" ]; then
    install -m 0640 "$WEB_CERT" /etc/coturn/tls/fullchain.pem
    install -m 0640 "$WEB_KEY" /etc/coturn/tls/privkey.pem
elif [ -n "$TURN_CERT" ]; then
    install -m 0640 "$TURN_CERT" /etc/coturn/tls/fullchain.pem
    install -m 0640 "$TURN_KEY" /etc/coturn/tls/privkey.pem
fi
chgrp turnserver /etc/coturn/tls/*.pem 2>/dev/null || true
(umask 027; sed -e "s|^listening-ip=.*|listening-ip=$TURN_LISTEN|" \
    -e "s|^relay-ip=.*|relay-ip=$TURN_LISTEN|" \
    -e "s|^tls-listening-port=.*|tls-listening-port=$TURN_TLS_PORT|" \
    -e "s|^realm=.*|realm=$HOSTNAME_|" \
    -e "s|^server-name=.*|server-name=$TURN_TLS_HOST|" \
    -e "s|^static-auth-secret=.*|static-auth-secret=$TURN_SECRET|" \
    -e "s|^cert=.*|cert=/etc/coturn/tls/fullchain.pem|" \
    -e "s|^pkey=.*|pkey=/etc/coturn/tls/privkey.pem|" \
    -e "s|^allowed-peer-ip=.*|allowed-peer-ip=$ICE_ADDRESS|" \
    "$SHARE/coturn/turnserver.conf" > /etc/turnserver.conf)
chgrp turnserver /etc/turnserver.conf 2>/dev/null || true
install -d /etc/systemd/system/coturn.service.d
install -m 0644 "$SHARE/systemd/coturn.service.d/seance.conf" /etc/systemd/system/coturn.service.d/seance.conf
say "/etc/turnserver.conf : $TURN_LISTEN, TURN sur TLS $TURN_TLS_HOST:$TURN_TLS_PORT"

# --------------------------------------------------------------------------- systemd units

step "Unités systemd"
units=(seance.service seance-recordings-purge.service seance-recordings-purge.timer)
[ -n "$REDIS" ] && units+=(redis-seance.service)
for unit in "${units[@]}"; do
    install -m 0644 "$SHARE/systemd/$unit" "/etc/systemd/system/$unit"
done
if [ -n "$REDIS" ]; then
    install -d -m 0750 -o root -g redis /etc/redis
    (umask 027; sed -e "s|^requirepass .*|requirepass $(cat "$ETC/redis-password")|" \
        "$SHARE/redis/redis-seance.conf" > /etc/redis/redis-seance.conf)
    chgrp redis /etc/redis/redis-seance.conf
    install -d -m 0750 -o redis -g redis /var/lib/redis-seance
fi
say "${units[*]}"

# --------------------------------------------------------------------------- upgrade

if [ "$UPGRADE" = 1 ] && [ "$BACKUP" = 1 ] && [ -n "$(ls -A "$DATA")" ]; then
    step "Sauvegarde avant mise à jour"
    rc=0
    "$RELEASE/bin/seance" backup --config "$ETC/seance.toml" --out "$BACKUPS/avant-$VERSION-$STAMP.tar" || rc=$?
    # 1: written, with something to look at (listed above); 2: nothing written, no upgrade
    [ "$rc" -le 1 ] || die "sauvegarde impossible : mise à jour abandonnée ($OPT/current n'a pas changé)"
fi
PREVIOUS=$(readlink "$OPT/current" 2>/dev/null || true)
ln -sfn "$RELEASE" "$OPT/current.new" && mv -T "$OPT/current.new" "$OPT/current"
say "$OPT/current -> $RELEASE${PREVIOUS:+ (précédente : $PREVIOUS)}"
# keep the current release and the two before it
ls -1dt "$OPT"/releases/*/ 2>/dev/null | tail -n +4 | while read -r old; do
    [ "${old%/}" != "$RELEASE" ] && rm -rf "$old"
done

# --------------------------------------------------------------------------- first administrator

ADMIN_PASSWORD=""
if [ ! -e "$DATA/accounts.sqlite3" ]; then
    step "Premier administrateur"
    # as the service would: its user, its UMask (the accounts hold password hashes)
    out=$(umask 027 && setpriv --reuid="$SERVICE_USER" --regid="$SERVICE_USER" --init-groups -- \
        "$OPT/current/bin/seance" serve --config "$ETC/seance.toml" --add-admin "$ADMIN")
    ADMIN_PASSWORD=$(printf '%s\n' "$out" | sed -n 's/.*mot de passe \([^ ]*\).*/\1/p')
    [ -n "$ADMIN_PASSWORD" ] || die "compte administrateur non créé : $out"
fi

# --------------------------------------------------------------------------- answers kept

(umask 077; cat > "$ANSWERS" <<EOF
# deploy/install.sh's answers, reused when it is run again (an upgrade).
SEANCE_HOSTNAME='$HOSTNAME_'
SEANCE_COUNCIL='${COUNCIL//\'/\'\\\'\'}'
SEANCE_EMAIL='$EMAIL'
SEANCE_CERT='$CERT'
SEANCE_KEY='$KEY'
SEANCE_ICE_ADDRESS='$ICE_ADDRESS'
SEANCE_TURN_ADDRESS='$TURN_ADDRESS'
SEANCE_TURN_HOSTNAME='$TURN_HOSTNAME'
SEANCE_WORKERS='$WORKERS'
SEANCE_REDIS='$REDIS'
SEANCE_ADMIN='$ADMIN'
EOF
)

# --------------------------------------------------------------------------- start

step "Démarrage"
coturn_hook() {  # coturn runs as turnserver and cannot read /etc/letsencrypt/live: a copy at each renewal
    install -d /etc/letsencrypt/renewal-hooks/deploy
    cat > /etc/letsencrypt/renewal-hooks/deploy/seance-coturn <<EOF
#!/bin/sh
# written by Séance's deploy/install.sh: coturn's copy of the certificate of $TURN_TLS_HOST
set -e
case " \$RENEWED_DOMAINS " in *" $TURN_TLS_HOST "*) ;; *) exit 0 ;; esac
install -m 0640 -g turnserver "\$RENEWED_LINEAGE/fullchain.pem" "\$RENEWED_LINEAGE/privkey.pem" /etc/coturn/tls/
systemctl restart coturn
EOF
    chmod 0755 /etc/letsencrypt/renewal-hooks/deploy/seance-coturn
    RENEWED_DOMAINS=$TURN_TLS_HOST RENEWED_LINEAGE=/etc/letsencrypt/live/$TURN_TLS_HOST \
        /etc/letsencrypt/renewal-hooks/deploy/seance-coturn
}
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    if [ -n "$REDIS" ]; then
        systemctl disable --now redis-server 2>/dev/null || true
        systemctl enable --now redis-seance
    fi
    systemctl reload-or-restart nginx
    if [ "$CERTBOT" = 1 ]; then
        certbot certonly --webroot -w /var/www/letsencrypt -d "$HOSTNAME_" --email "$EMAIL" --agree-tos \
            --non-interactive --deploy-hook "systemctl reload nginx"
        sed -i -e "s|$WEB_CERT|$LE_CERT|" -e "s|$WEB_KEY|$LE_KEY|" /etc/nginx/snippets/seance-proxy.conf
        "$NGINX" -t -q && systemctl reload nginx
    fi
    if [ -n "$TURN_ADDRESS" ] && [ -z "$TURN_CERT" ] && [ ! -f "/etc/letsencrypt/live/$TURN_TLS_HOST/fullchain.pem" ]; then
        # the TURN name resolves to its own address, whose port 80 nginx leaves free
        certbot certonly --standalone --http-01-address "$TURN_ADDRESS" -d "$TURN_TLS_HOST" --email "$EMAIL" \
            --agree-tos --non-interactive
    fi
    if [ -f "/etc/letsencrypt/live/$TURN_TLS_HOST/fullchain.pem" ] && [ -z "$TURN_CERT" ]; then
        coturn_hook
    fi
    systemctl enable coturn && systemctl restart coturn
    systemctl enable seance seance-recordings-purge.timer
    systemctl restart seance
    systemctl start seance-recordings-purge.timer
    for _ in $(seq 1 30); do
        curl -fsS http://127.0.0.1:8080/healthz >/dev/null 2>&1 && break
        sleep 1
    done
    say "$(curl -fsS http://127.0.0.1:8080/healthz || echo "Séance ne répond pas : journalctl -u seance")"
else
    say "systemd ne tourne pas ici (conteneur ?) : rien n'est démarré. Sur le serveur :"
    say "  systemctl daemon-reload && systemctl enable --now seance seance-recordings-purge.timer"
    if [ -n "$REDIS" ]; then
        say "  systemctl disable --now redis-server && systemctl enable --now redis-seance"
    fi
    say "  systemctl restart coturn && systemctl reload nginx"
    if [ "$CERTBOT" = 1 ]; then
        say "  certbot certonly --webroot -w /var/www/letsencrypt -d $HOSTNAME_ --email $EMAIL --agree-tos"
        say "  (puis relancez ce script : il prendra le certificat de Let's Encrypt)"
    fi
fi

# --------------------------------------------------------------------------- next steps

step "Terminé"
if [ "$UPGRADE" = 1 ]; then
    say "Séance mise à jour en $VERSION pour « $COUNCIL » (données, configuration et clés gardées)."
    [ -n "$PREVIOUS" ] && say "Retour arrière : ln -sfn $PREVIOUS $OPT/current && systemctl restart seance"
else
    say "Séance $VERSION installée pour « $COUNCIL » : https://$HOSTNAME_/"
fi
if [ -n "$ADMIN_PASSWORD" ]; then
    say ""
    say "Premier administrateur : identifiant « $ADMIN », mot de passe $ADMIN_PASSWORD"
    say "(affiché une seule fois : notez-le, puis changez-le ou transmettez-le par un canal sûr)"
fi
cat <<EOF

Étapes suivantes (docs/operations.md : $OPT/current/share/docs/operations.md) :
  1. https://$HOSTNAME_/admin : le conseil « $COUNCIL », ses communes, ses membres, ses salles
     désignées, ses agents et leurs comptes ; puis la séance et son ordre du jour.
  2. $ETC/seance.toml : [privacy] dpo_contact (affiché sur /confidentialite), puis
     systemctl restart seance.
  3. Pare-feu : TCP 80 et 443 ; UDP 32768-60999 vers $ICE_ADDRESS (le son et l'image) ;
     TURN : UDP et TCP 3478, TCP $TURN_TLS_PORT, UDP 49152-65535 vers $TURN_LISTEN.
  4. Sauvegardes : $OPT/current/bin/seance backup --config $ETC/seance.toml --out /chemin/seance.tar
     (chaque jour, hors du serveur).
  5. La veille de la première séance : les bornes de chaque salle connectées pour de vrai.
EOF
