#!/usr/bin/env bash
# Puts the real data sets that Debian packages ship into data/ (or $HQSWEEP_DATA_DIR) without
# installing them: apt-get download + dpkg-deb -x. Links BreastMNIST from ../shared/data when present.
#   data/breast_cancer.csv  UCI WDBC (569 x 30)          python3-sklearn
#   data/wine_data.csv      UCI Wine (178 x 13)           python3-sklearn
#   data/digits.csv.gz      UCI digits (1797 x 8x8)       python3-sklearn
#   data/fashion-mnist/     Fashion-MNIST IDX files       dataset-fashion-mnist
#   data/breastmnist.npz    MedMNIST v2 BreastMNIST       ../shared/data (users: download from MedMNIST)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
data=${HQSWEEP_DATA_DIR:-$root/data}
mkdir -p "$data"

need_sklearn=0
for f in breast_cancer.csv wine_data.csv digits.csv.gz; do [ -s "$data/$f" ] || need_sklearn=1; done
need_fashion=0
for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
  [ -s "$data/fashion-mnist/$f" ] || need_fashion=1
done

packages=()
[ $need_sklearn -eq 1 ] && packages+=(python3-sklearn)
[ $need_fashion -eq 1 ] && packages+=(dataset-fashion-mnist)
if [ ${#packages[@]} -gt 0 ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  echo "fetch-data: downloading ${packages[*]} from Debian"
  # apt-get download writes as the _apt user where it can; a world-writable folder avoids a warning.
  chmod 777 "$work"
  if ! (cd "$work" && apt-get download "${packages[@]}" >/dev/null 2>&1); then
    apt-get update -qq
    (cd "$work" && apt-get download "${packages[@]}" >/dev/null)
  fi
  for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$work/root"; done
  if [ $need_sklearn -eq 1 ]; then
    src="$work/root/usr/lib/python3/dist-packages/sklearn/datasets/data"
    cp "$src/breast_cancer.csv" "$src/wine_data.csv" "$src/digits.csv.gz" "$data/"
  fi
  if [ $need_fashion -eq 1 ]; then
    mkdir -p "$data/fashion-mnist"
    cp "$work"/root/usr/share/datasets/fashion-mnist/*-ubyte.gz "$data/fashion-mnist/"
  fi
fi

shared="$root/../shared/data/breastmnist.npz"
if [ ! -e "$data/breastmnist.npz" ] && [ -f "$shared" ]; then
  ln -s "$(cd "$(dirname "$shared")" && pwd)/breastmnist.npz" "$data/breastmnist.npz"
fi
if [ ! -e "$data/breastmnist.npz" ]; then
  echo "fetch-data: no breastmnist.npz; download it from the MedMNIST v2 release into $data/" >&2
fi
echo "fetch-data: data sets in $data:"
(cd "$data" && ls -1d breast_cancer.csv wine_data.csv digits.csv.gz fashion-mnist breastmnist.npz 2>/dev/null | sed 's/^/  /')
