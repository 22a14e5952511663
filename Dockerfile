# Single-node Cairn image: a static binary on a small base.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/cairn ./cmd/cairn

FROM debian:bookworm-slim
COPY --from=build /out/cairn /usr/local/bin/cairn
VOLUME /data
EXPOSE 8700
ENTRYPOINT ["cairn"]
CMD ["serve", "--data", "/data", "--listen", "0.0.0.0:8700"]
