/* The trivial, uninstrumented C functions of benches/fuzz_overhead.sh and benches/fuzz_instructions.sh
   (module `triv`, compiled with gcc by those scripts): `total(xs: list[int]) -> int`, the sum of a
   list, and `ident(b: bytes) -> bytes`. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
static PyObject *total(PyObject *self, PyObject *xs) {
    if (!PyList_Check(xs)) { PyErr_SetString(PyExc_TypeError, "a list"); return NULL; }
    long t = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(xs); i++) {
        long v = PyLong_AsLong(PyList_GET_ITEM(xs, i));
        if (v == -1 && PyErr_Occurred()) return NULL;
        t += v;
    }
    return PyLong_FromLong(t);
}
static PyObject *ident(PyObject *self, PyObject *b) { Py_INCREF(b); return b; }
static PyMethodDef methods[] = {
    {"total", total, METH_O, ""}, {"ident", ident, METH_O, ""}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "triv", NULL, -1, methods};
PyMODINIT_FUNC PyInit_triv(void) { return PyModule_Create(&mod); }
