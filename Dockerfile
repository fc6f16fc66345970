# The triage binary in a small image: built static (CGO_ENABLED=0) in the
# Go image, then copied with the CA roots into busybox. busybox rather than
# distroless or scratch: its 1 MB shell and wget let docker-compose.yml
# check the services' /readyz and /healthz, which a shell-less image cannot.
#
#   docker build -t triage:dev --build-arg VERSION=$(git describe --always) .
#   docker run --rm triage:dev version

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/triage ./cmd/triage

FROM busybox:1.37-musl
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/triage /usr/local/bin/triage
# Not root; the id of distroless's nonroot user.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/triage"]
CMD ["help"]
