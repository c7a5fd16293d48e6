#!/bin/sh
# Throwaway certificates for the TLS tests, made at test time with Debian's openssl:
#   ca.pem                the test CA (what the clients are told to trust)
#   server.pem/.key       signed by it for DNS:localhost and IP:127.0.0.1
#   wronghost.pem/.key    signed by it, but for DNS:wrong.example only
#   expired.pem/.key      signed by it for localhost/127.0.0.1, valid in 2020 only
#   untrusted.pem/.key    self-signed for localhost/127.0.0.1 (no client trusts it)
# Usage: tests/tls/certs.sh DIR   (DIR is created; existing files are replaced)
set -e
dir=${1:?usage: certs.sh DIR}
mkdir -p "$dir"
cd "$dir"
# P-256 keys: quick to make, and every stack here (OpenSSL, mbedTLS 2.28, Node, Chromium,
# Python) speaks ECDSA.
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
san="subjectAltName=DNS:localhost,IP:127.0.0.1"
leaf="basicConstraints=critical,CA:FALSE"
eku="extendedKeyUsage=serverAuth"

key ca.key
openssl req -x509 -new -key ca.key -out ca.pem -days 30 -subj "/CN=ws.h test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"

for name in server wronghost untrusted expired; do key "$name.key"; done
openssl req -new -x509 -key server.key -out server.pem -days 30 -subj "/CN=localhost" \
  -CA ca.pem -CAkey ca.key -addext "$san" -addext "$leaf" -addext "$eku"
openssl req -new -x509 -key wronghost.key -out wronghost.pem -days 30 -subj "/CN=wrong.example" \
  -CA ca.pem -CAkey ca.key -addext "subjectAltName=DNS:wrong.example" -addext "$leaf" -addext "$eku"
openssl req -new -x509 -key untrusted.key -out untrusted.pem -days 30 -subj "/CN=localhost" \
  -addext "$san" -addext "$leaf" -addext "$eku"

# `openssl req` cannot date a certificate in the past; `openssl ca` can.
mkdir -p ca-db
: > ca-db/index.txt
cat > ca-db/ca.cnf <<CNF
[ca]
default_ca = test
[test]
database = ca-db/index.txt
new_certs_dir = ca-db
serial = ca-db/serial
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[any]
commonName = supplied
CNF
echo 01 > ca-db/serial
openssl req -new -key expired.key -out ca-db/expired.csr -subj "/CN=localhost" \
  -addext "$san" -addext "$leaf" -addext "$eku"
openssl ca -batch -config ca-db/ca.cnf -cert ca.pem -keyfile ca.key -in ca-db/expired.csr \
  -out expired.pem -startdate 20200101000000Z -enddate 20200201000000Z -notext 2>/dev/null
echo "certificates in $dir"
