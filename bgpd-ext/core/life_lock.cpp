#include "life_lock.hpp"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>

namespace frr_ha {

namespace {

constexpr std::size_t kPage = 4096;
// The file's first bytes say it holds a made mutex (a file left empty by a
// process that died while making it is made again).
constexpr std::uint64_t kMade = 0x6672722d68612d31ULL;  // "frr-ha-1"
// How often a waiting thread looks for a new command: the kernel wakes it
// at once when the mutex is let go or its holder dies.
constexpr long kWaitSliceNs = 100 * 1000 * 1000;

struct Page {
    std::uint64_t made;
    pthread_mutex_t mutex;
};
static_assert(sizeof(Page) <= kPage, "the mutex fits the page");

std::string error(const std::string &what)
{
    return what + ": " + strerror(errno);
}

// Under the file's flock.
void make_mutex(Page *page)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&page->mutex, &attr);
    pthread_mutexattr_destroy(&attr);
    page->made = kMade;
}

}  // namespace

Result<std::unique_ptr<LifeLock>> LifeLock::open(const std::string &path)
{
    UniqueFd file(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!file)
        return Result<std::unique_ptr<LifeLock>>::fail(error("open " + path));
    // Both RPs may open it at once: whoever makes the mutex does it alone.
    if (flock(file.get(), LOCK_EX) < 0)
        return Result<std::unique_ptr<LifeLock>>::fail(error("flock " + path));
    struct stat st {};
    if (fstat(file.get(), &st) < 0 ||
        (st.st_size < static_cast<off_t>(kPage) && ftruncate(file.get(), kPage) < 0)) {
        flock(file.get(), LOCK_UN);
        return Result<std::unique_ptr<LifeLock>>::fail(error("size " + path));
    }
    void *mapping = mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_SHARED, file.get(), 0);
    if (mapping == MAP_FAILED) {
        flock(file.get(), LOCK_UN);
        return Result<std::unique_ptr<LifeLock>>::fail(error("mmap " + path));
    }
    if (static_cast<Page *>(mapping)->made != kMade)
        make_mutex(static_cast<Page *>(mapping));
    flock(file.get(), LOCK_UN);
    return std::make_unique<LifeLock>(Key(), std::move(file), mapping);
}

LifeLock::LifeLock(Key, UniqueFd file, void *mapping)
    : file_(std::move(file)),
      mapping_(mapping),
      event_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK))
{
    thread_ = std::thread([this] { run(); });
}

LifeLock::~LifeLock()
{
    {
        std::lock_guard<std::mutex> lock(mu_);
        command_ = Command::Quit;
    }
    cv_.notify_all();
    thread_.join();
    munmap(mapping_, kPage);
}

bool LifeLock::try_acquire()
{
    if (state_ == State::Held)
        return true;
    if (state_ == State::Waiting)
        return false;  // someone holds it, or the waiter is about to
    std::unique_lock<std::mutex> lock(mu_);
    command_ = Command::TryAcquire;
    answered_ = false;
    cv_.notify_all();
    cv_.wait(lock, [this] { return answered_; });
    return answer_;
}

void LifeLock::wait()
{
    if (state_ != State::Free)
        return;
    std::lock_guard<std::mutex> lock(mu_);
    command_ = Command::Wait;
    state_ = State::Waiting;
    cv_.notify_all();
}

void LifeLock::release()
{
    if (state_ == State::Free)
        return;
    std::unique_lock<std::mutex> lock(mu_);
    command_ = Command::Release;
    answered_ = false;
    cv_.notify_all();
    cv_.wait(lock, [this] { return answered_; });
}

bool LifeLock::took(int rc)
{
    auto *mutex = &static_cast<Page *>(mapping_)->mutex;
    if (rc == EOWNERDEAD) {
        // The holder died holding it: nothing it guarded needs repair
        // (the mutex guards no data), so it is simply ours now.
        pthread_mutex_consistent(mutex);
        holder_died_ = true;
        state_ = State::Held;
        return true;
    }
    if (rc == 0) {
        holder_died_ = false;
        state_ = State::Held;
        return true;
    }
    if (rc == ENOTRECOVERABLE) {
        // A holder died and the next let it go without taking it over
        // (never this code): nobody can hold it again, so it is made anew.
        flock(file_.get(), LOCK_EX);
        make_mutex(static_cast<Page *>(mapping_));
        flock(file_.get(), LOCK_UN);
    }
    return false;
}

void LifeLock::run()
{
    auto *mutex = &static_cast<Page *>(mapping_)->mutex;
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
        cv_.wait(lock, [this] { return command_ != Command::None; });
        const Command command = command_;
        command_ = Command::None;
        switch (command) {
        case Command::None:
            break;
        case Command::TryAcquire:
            answer_ = state_ == State::Held || took(pthread_mutex_trylock(mutex));
            answered_ = true;
            cv_.notify_all();
            break;
        case Command::Wait:
            // Slices of blocking, so that a release or quit is heard.
            while (command_ == Command::None) {
                lock.unlock();
                struct timespec until {};
                clock_gettime(CLOCK_REALTIME, &until);
                until.tv_nsec += kWaitSliceNs;
                if (until.tv_nsec >= 1000000000L) {
                    until.tv_sec++;
                    until.tv_nsec -= 1000000000L;
                }
                const bool held = took(pthread_mutex_timedlock(mutex, &until));
                lock.lock();
                if (held) {
                    std::uint64_t one = 1;
                    (void)!::write(event_.get(), &one, sizeof(one));
                    break;
                }
            }
            if (state_ == State::Waiting)
                state_ = State::Free;
            break;
        case Command::Release:
            if (state_ == State::Held)
                pthread_mutex_unlock(mutex);
            state_ = State::Free;
            answered_ = true;
            cv_.notify_all();
            break;
        case Command::Quit:
            if (state_ == State::Held)
                pthread_mutex_unlock(mutex);
            state_ = State::Free;
            return;
        }
    }
}

}  // namespace frr_ha
