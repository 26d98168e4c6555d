# An image with ignity as its init, from any base image:
#   docker build --build-arg BASE_IMAGE=debian:bookworm-slim \
#     --build-arg TARBALL=dist/ignity-0.1.0-x86_64.tar.gz -t my/app .
# The release tarball holds no directory entries, so ADD extracts it at /
# without replacing a /bin -> usr/bin symlink; the installer then creates
# what a tarball cannot carry (/run/ignity, /bin/execlineb where /bin is a
# real directory) and checks that the binaries run.
ARG BASE_IMAGE=ignity-base:debian
FROM ${BASE_IMAGE}
ARG TARBALL=dist/ignity-0.1.0-x86_64.tar.gz
ADD ${TARBALL} /
RUN ["/bin/sh", "/usr/src/install-ignity.sh"]
ENTRYPOINT ["/init"]
