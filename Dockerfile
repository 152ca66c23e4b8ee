# One image for every Tollgate process; the command picks the role.
FROM golang:1.26.10 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The build context has no .git (see .dockerignore): pass the commit in,
# as `docker build --build-arg COMMIT=$(git rev-parse HEAD) .`; `tollgate
# version` prints it.
ARG COMMIT=""
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-X main.commit=${COMMIT}" -o /out/tollgate ./cmd/tollgate && mkdir -p /out/data /out/secrets /out/certs /out/ca

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/tollgate /usr/local/bin/tollgate
# Volumes mounted here start owned by the nonroot user the image runs as.
COPY --from=build --chown=65532:65532 /out/data /data
COPY --from=build --chown=65532:65532 /out/secrets /secrets
COPY --from=build --chown=65532:65532 /out/certs /certs
COPY --from=build --chown=65532:65532 /out/ca /ca
ENTRYPOINT ["/usr/local/bin/tollgate"]
