module natsobj/benchmarks/httpload

go 1.22
