"""Zero-copy input views, checked output windows and the ParseError base."""

from cpython.buffer cimport (PyObject_GetBuffer, PyBuffer_Release,
                             PyBUF_SIMPLE, PyBUF_WRITABLE)


class ParseError(ValueError):
    """Malformed wire data.  Every parser in rtcengine raises a subclass of
    this (``rtp.ParseError``, ``stun.ParseError``, ...) and nothing else."""


cdef class InputView:
    def __cinit__(self):
        self.held = False
        self.ptr = NULL
        self.length = 0

    cdef int acquire(self, object data) except -1:
        if self.held:
            PyBuffer_Release(&self.view)
            self.held = False
        PyObject_GetBuffer(data, &self.view, PyBUF_SIMPLE)
        self.held = True
        self.ptr = <const uint8_t*>self.view.buf
        self.length = self.view.len
        return 0

    cdef void release(self) noexcept:
        if self.held:
            PyBuffer_Release(&self.view)
            self.held = False
        self.ptr = NULL
        self.length = 0

    def __dealloc__(self):
        self.release()


cdef class OutputView:
    def __cinit__(self):
        self.held = False
        self.ptr = NULL
        self.length = 0

    cdef int acquire(self, object buf, Py_ssize_t offset, Py_ssize_t size) except -1:
        if self.held:
            PyBuffer_Release(&self.view)
            self.held = False
        if offset < 0:
            raise ValueError(f"offset must be >= 0, got {offset}")
        PyObject_GetBuffer(buf, &self.view, PyBUF_SIMPLE | PyBUF_WRITABLE)
        self.held = True
        if offset + size > self.view.len:
            n = self.view.len
            self.release()
            raise ValueError(
                f"buffer too small: need {size} bytes at offset {offset}, "
                f"buffer has {n}")
        self.ptr = <uint8_t*>self.view.buf + offset
        self.length = size
        return 0

    cdef void release(self) noexcept:
        if self.held:
            PyBuffer_Release(&self.view)
            self.held = False
        self.ptr = NULL
        self.length = 0

    def __dealloc__(self):
        self.release()


cdef int fail_short(object exc_type, str what, Py_ssize_t need, Py_ssize_t have) except -1:
    raise exc_type(f"{what} too short: need {need} bytes, have {have}")


cdef int fail(object exc_type, str message) except -1:
    raise exc_type(message)


cdef bytes bytes_of(object data):
    if type(data) is bytes:
        return <bytes>data
    return bytes(data)
