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

#include <chrono>
#include <cstdint>

namespace frr_ha {

namespace {

constexpr std::size_t kPage = 4096;
// The file's first bytes say it holds made mutexes of this layout (a file
// left empty by a process that died while making it is made again).
constexpr std::uint64_t kMade = 0x6672722d68612d32ULL;  // "frr-ha-2"
// How often a waiting thread looks for a new command, or looks again at a
// page nobody holds: the kernel wakes it at once when a holder dies.
constexpr long kWaitSliceNs = 100 * 1000 * 1000;

struct Page {
    std::uint64_t made;
    std::atomic<pid_t> pid;  // the life mutex's holder
    pthread_mutex_t life;
    pthread_mutex_t writers[LifeLock::kWriters];
};
static_assert(sizeof(Page) <= kPage, "the mutexes fit the page");

std::string error(const std::string &what)
{
    return what + ": " + strerror(errno);
}

void make_mutex(pthread_mutex_t *mutex)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(mutex, &attr);
    pthread_mutexattr_destroy(&attr);
}

// Under the file's flock.
void make_page(Page *page)
{
    make_mutex(&page->life);
    for (auto &writer : page->writers)
        make_mutex(&writer);
    page->pid = 0;
    page->made = kMade;
}

Page *page_of(void *mapping) { return static_cast<Page *>(mapping); }

// A mutex whose holder died and whose next holder let it go without taking
// it over (ENOTRECOVERABLE; never this code): nobody can hold it again, so
// it is made anew, under the file's flock.
void remake(int file, pthread_mutex_t *mutex)
{
    flock(file, LOCK_EX);
    make_mutex(mutex);
    flock(file, LOCK_UN);
}

// A mutex got from a lock call, whatever its last holder did; false if it
// was not got.
bool got(pthread_mutex_t *mutex, int rc)
{
    if (rc == EOWNERDEAD) {
        // The holder died holding it: the mutex guards no data, so nothing
        // needs repair, it is simply ours now.
        pthread_mutex_consistent(mutex);
        return true;
    }
    return rc == 0;
}

}  // namespace

Result<std::unique_ptr<LifeLock>> LifeLock::open(const std::string &path)
{
    UniqueFd file(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!file)
        return Result<std::unique_ptr<LifeLock>>::fail(error("open " + path));
    // Both RPs may open it at once: whoever makes the mutexes does it alone.
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
    if (page_of(mapping)->made != kMade)
        make_page(page_of(mapping));
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

Status LifeLock::hold()
{
    if (state_ == State::Holding)
        return Status::ok();
    if (state_ != State::Idle)
        return Status::fail("this page is watched, not held");
    std::unique_lock<std::mutex> lock(mu_);
    command_ = Command::Hold;
    answered_ = false;
    cv_.notify_all();
    cv_.wait(lock, [this] { return answered_; });
    return answer_;
}

bool LifeLock::hold_writer(Writer writer)
{
    const int i = static_cast<int>(writer);
    if (writers_held_[i])
        return true;
    pthread_mutex_t *mutex = &page_of(mapping_)->writers[i];
    const int rc = pthread_mutex_trylock(mutex);
    if (rc == ENOTRECOVERABLE) {
        remake(file_.get(), mutex);
        return false;  // the next call takes it
    }
    writers_held_[i] = got(mutex, rc);
    return writers_held_[i];
}

void LifeLock::let_writer_go(Writer writer)
{
    const int i = static_cast<int>(writer);
    if (writers_held_[i].exchange(false))
        pthread_mutex_unlock(&page_of(mapping_)->writers[i]);
}

void LifeLock::watch()
{
    if (state_ != State::Idle)
        return;
    std::lock_guard<std::mutex> lock(mu_);
    command_ = Command::Watch;
    state_ = State::Watching;
    cv_.notify_all();
}

void LifeLock::stop_watching()
{
    if (state_ != State::Watching && state_ != State::Heard)
        return;
    std::unique_lock<std::mutex> lock(mu_);
    command_ = Command::StopWatching;
    answered_ = false;
    cv_.notify_all();
    cv_.wait(lock, [this] { return answered_; });
    std::uint64_t n;
    (void)!::read(event_.get(), &n, sizeof(n));
}

int LifeLock::lock_in_slices(void *mutex, std::unique_lock<std::mutex> &lock)
{
    auto *m = static_cast<pthread_mutex_t *>(mutex);
    while (command_ == Command::None) {
        lock.unlock();
        struct timespec until {};
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += kWaitSliceNs;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        const int rc = pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &until);
        lock.lock();
        if (rc != ETIMEDOUT)
            return rc;
    }
    return -1;
}

bool LifeLock::watch_for_death(std::unique_lock<std::mutex> &lock)
{
    Page *page = page_of(mapping_);
    for (;;) {
        const int rc = lock_in_slices(&page->life, lock);
        if (rc < 0)
            return false;
        if (rc == 0) {
            // Nobody holds it: the partner is down, or holds no page.
            pthread_mutex_unlock(&page->life);
            if (cv_.wait_for(lock, std::chrono::nanoseconds(kWaitSliceNs),
                             [this] { return command_ != Command::None; }))
                return false;
            continue;
        }
        if (rc != EOWNERDEAD) {
            remake(file_.get(), &page->life);  // ENOTRECOVERABLE
            continue;
        }
        const pid_t pid = page->pid;
        pthread_mutex_consistent(&page->life);
        // The process is dying: each writer's death says its last write
        // is over.
        for (auto &writer : page->writers) {
            const int w = lock_in_slices(&writer, lock);
            if (w < 0) {
                pthread_mutex_unlock(&page->life);
                return false;
            }
            if (got(&writer, w))
                pthread_mutex_unlock(&writer);
        }
        // Free again for the partner's next process.
        pthread_mutex_unlock(&page->life);
        struct timespec now {};
        clock_gettime(CLOCK_MONOTONIC, &now);
        heard_at_us_ = static_cast<std::uint64_t>(now.tv_sec) * 1000000 + now.tv_nsec / 1000;
        died_pid_ = pid;
        return true;
    }
}

void LifeLock::run()
{
    Page *page = page_of(mapping_);
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
        cv_.wait(lock, [this] { return command_ != Command::None; });
        const Command command = command_;
        command_ = Command::None;
        switch (command) {
        case Command::None:
            break;
        case Command::Hold: {
            const int rc = pthread_mutex_trylock(&page->life);
            if (got(&page->life, rc)) {
                page->pid = getpid();
                state_ = State::Holding;
                answer_ = Status::ok();
            } else {
                answer_ = Status::fail("held by process " + std::to_string(page->pid.load()));
                if (rc == ENOTRECOVERABLE) {
                    remake(file_.get(), &page->life);
                    answer_ = Status::fail("the page was made anew: try again");
                }
            }
            answered_ = true;
            cv_.notify_all();
            break;
        }
        case Command::Watch:
            died_pid_ = 0;
            if (watch_for_death(lock)) {
                state_ = State::Heard;
                std::uint64_t one = 1;
                (void)!::write(event_.get(), &one, sizeof(one));
            }
            break;
        case Command::StopWatching:
            state_ = State::Idle;
            died_pid_ = 0;
            heard_at_us_ = 0;
            answered_ = true;
            cv_.notify_all();
            break;
        case Command::Quit:
            if (state_ == State::Holding)
                pthread_mutex_unlock(&page->life);
            state_ = State::Idle;
            return;
        }
    }
}

}  // namespace frr_ha
