// Open MPI's predefined handles are macros over addresses of library globals
// (`#define MPI_COMM_WORLD OMPI_PREDEFINED_GLOBAL(MPI_Comm, ompi_mpi_comm_world)`), which Swift
// cannot import; each is returned by a static inline function instead.
#define OMPI_SKIP_MPICXX 1
#include <mpi.h>

static inline MPI_Comm mlc_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype mlc_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype mlc_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype mlc_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Op mlc_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Status *mlc_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Request mlc_mpi_request_null(void) { return MPI_REQUEST_NULL; }
static inline MPI_Errhandler mlc_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
