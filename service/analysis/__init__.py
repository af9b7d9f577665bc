"""Pure analyses: numpy arrays in, small result structs out. No I/O, no Litestar, no tritonclient."""
